/**
 * Fleet membership on the router: what the router is (probe.ts), zero-touch enrolment
 * (enrolment.ts), the login it gives (credentials.ts) and which login the cloud link uses
 * (cloud-login.ts).
 */
export { startCloudWithLogin, chooseCloudLogin, withLogin } from './cloud-login.ts';
export type { CloudLogin, CloudStarter } from './cloud-login.ts';
export { Enrolment } from './enrolment.ts';
export type { EnrolmentHooks, EnrolmentOptions, EnrolmentSettings, EnrolmentStatus } from './enrolment.ts';
export { readSavedLogin, saveLogin, LOGIN_FILE, PASSWORD_FILE } from './credentials.ts';
export type { EnrolledLogin, SavedLogin } from './credentials.ts';
export { probeRouter, pathsUnder, ROUTER_PATHS } from './probe.ts';
export type { ProbePaths, RouterProbe } from './probe.ts';
