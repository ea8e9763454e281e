/**
 * Enrolment messages: how a router with no broker login of its own yet becomes a device of the
 * fleet (docs/fleet.md). The router connects with the shared enrolment login, whose ACL allows
 * only publishing `enrol.request` and reading `enrol.answer` (src/core/protocol/acl.ts), and asks
 * on `callqos/v1/enrol/<hardware id>/req`; the server answers on `…/res`.
 *
 * The router chooses the password of its future broker login itself and sends it with the
 * request: the enrolment login may publish requests but read none, so nobody else sees it, and
 * the answer, which every enrolment login can read, carries no secret. On acceptance the server
 * gives that password to the device's new broker identity; the router then connects with its
 * own login and never uses the enrolment key again.
 */
import { agentVersion, deviceId, errorCode, text } from '../fields.ts';
import { bool, int, literal, obj, optional, str, union, type Infer } from '../schema.ts';
import { REASON_MAX } from '../limits.ts';

/** Hardware ids are one topic level: `mac-0242ac110002`, `serial-…`. */
export const HARDWARE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const hardwareId = str({ min: 1, max: 64, pattern: HARDWARE_ID, format: 'hardware id' });

/** An enrolment key as the operator hands it out: `<key id>.<secret>`, printable and without spaces. */
export const ENROLMENT_KEY = /^[A-Za-z0-9]{4,32}\.[A-Za-z0-9_-]{16,128}$/;
export const enrolmentKey = str({ min: 21, max: 161, pattern: ENROLMENT_KEY, format: 'enrolment key (<id>.<secret>)' });

/** A broker password a router chose: printable without spaces, as mosquitto_sub's options file needs. */
export const BROKER_PASSWORD = /^[A-Za-z0-9_-]{24,128}$/;
export const brokerPassword = str({ min: 24, max: 128, pattern: BROKER_PASSWORD, format: 'broker password ([A-Za-z0-9_-], 24..128)' });

/** What the router is, as it reports it at enrolment (and the inventory shows). */
export const hardwareBody = obj({
  /** ubus `system board`: model, board_name, release.version, release.target, kernel. */
  model: text(128),
  boardName: text(128),
  release: text(64),
  target: text(64),
  kernel: text(64),
});

export const versionsBody = obj({
  agent: agentVersion,
  /** The QuickJS the agent runs under (or `node` in a simulation). */
  quickjs: text(32),
});

/** What the kernel and tools offer, probed at start: what the queueing and data plane can use. */
export const featuresBody = obj({
  cake: bool(),
  fqCodel: bool(),
  ctinfo: bool(),
  flowOffload: bool(),
  /** `nft --version`'s version, empty when unknown. */
  nft: text(32),
});

/** `enrol.request` (router -> server, on `enrol/<hardwareId>/req`; envelope `device` = hardwareId). */
export const enrolRequestBody = obj({
  key: enrolmentKey,
  hardwareId,
  password: brokerPassword,
  /** The router's host name, a suggestion for its display name. */
  hostname: optional(text(64)),
  hardware: hardwareBody,
  versions: versionsBody,
  features: featuresBody,
});

/** `enrol.answer` (server -> router, corr = the request). */
export const enrolAnswerBody = union('outcome', [
  /** The router's login is ready: username and device id (the password is the one it sent). */
  obj({ outcome: literal('accepted'), deviceId, username: deviceId }),
  /** Waiting for an operator; ask again after `retryS`. */
  obj({ outcome: literal('pending'), retryS: int({ min: 1, max: 3600 }) }),
  /** Refused for good with this key (wrong, expired, revoked, rejected) or for now (E_RATE_LIMITED, `retryS`). */
  obj({ outcome: literal('refused'), code: errorCode, detail: text(REASON_MAX), retryS: optional(int({ min: 1, max: 86_400 })) }),
]);

export type HardwareInfo = Infer<typeof hardwareBody>;
export type AgentVersions = Infer<typeof versionsBody>;
export type KernelFeatures = Infer<typeof featuresBody>;
export type EnrolRequestBody = Infer<typeof enrolRequestBody>;
export type EnrolAnswerBody = Infer<typeof enrolAnswerBody>;
