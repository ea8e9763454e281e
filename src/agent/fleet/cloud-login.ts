/**
 * Which login the cloud link uses, and getting one by enrolment when there is none:
 *
 *  - `cloud.username` or `cloud.password_file` set (a login made by hand): exactly as before
 *    enrolment existed; the key, if any, is ignored.
 *  - otherwise, a login saved by an earlier enrolment in `cloud.credentials_dir`: the link
 *    starts with it (username, its password file, and the device id the server gave), with or
 *    without `cloud.enrol_key`, which is never used again.
 *  - otherwise, with `cloud.enrol_key`: enrolment (enrolment.ts), then the link with the new login.
 *  - otherwise: as before (a broker without logins).
 */
import type { AgentConfig } from '../../core/config/index.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { readSavedLogin, type SavedLogin } from './credentials.ts';
import { Enrolment, type EnrolmentOptions, type EnrolmentStatus } from './enrolment.ts';

export type CloudLogin =
  | { readonly kind: 'as-configured' }
  | { readonly kind: 'saved'; readonly login: SavedLogin }
  | { readonly kind: 'enrol'; readonly key: string; readonly broker: string };

/** The decision above, from the config and what readSavedLogin found (null: nothing usable). */
export function chooseCloudLogin(config: AgentConfig, saved: SavedLogin | null): CloudLogin {
  const cloud = config.cloud;
  if (!cloud.enabled || cloud.broker === undefined) return { kind: 'as-configured' };
  if (cloud.username !== undefined || cloud.passwordFile !== undefined) return { kind: 'as-configured' };
  if (saved !== null) return { kind: 'saved', login: saved };
  if (cloud.enrolKey !== undefined) return { kind: 'enrol', key: cloud.enrolKey, broker: cloud.broker };
  return { kind: 'as-configured' };
}

/** The config with the enrolled login in place of the (unset) hand-made one. */
export function withLogin(config: AgentConfig, login: SavedLogin): AgentConfig {
  return { ...config, cloud: { ...config.cloud, username: login.username, passwordFile: login.passwordFile } };
}

export interface CloudStarter {
  stop(): void;
}

/**
 * Starts the cloud link through `start` (now, or once enrolled) with the config and device id to
 * use. `defaultDeviceId` is the one a hand-configured router uses (agent.device_id or hostname).
 */
export function startCloudWithLogin(
  host: Host,
  log: Logger,
  config: AgentConfig,
  defaultDeviceId: string,
  start: (config: AgentConfig, deviceId: string) => void,
  onStatus: (status: EnrolmentStatus) => void,
  options: EnrolmentOptions = {},
): CloudStarter {
  const idle: CloudStarter = { stop: () => undefined };
  const mayUseSaved = config.cloud.enabled && config.cloud.broker !== undefined && config.cloud.username === undefined && config.cloud.passwordFile === undefined;
  let saved: SavedLogin | null = null;
  if (mayUseSaved) {
    const read = readSavedLogin(host, config.cloud.credentialsDir);
    if (read.ok) saved = read.value;
    else log.error('the saved enrolment login is unusable; enrolling again if a key is set', { code: read.error.code, reason: read.error.message });
  }
  const choice = chooseCloudLogin(config, saved);
  const useLogin = (login: SavedLogin) => {
    if (config.agent.deviceId !== undefined && config.agent.deviceId !== login.deviceId) {
      log.warn('agent.device_id differs from the enrolled device id; using the enrolled one', { configured: config.agent.deviceId, enrolled: login.deviceId });
    }
    if (login.broker !== config.cloud.broker) log.warn('the enrolled login is for another broker name', { enrolled_with: login.broker, broker: config.cloud.broker ?? '' });
    start(withLogin(config, login), login.deviceId);
  };
  switch (choice.kind) {
    case 'as-configured':
      start(config, defaultDeviceId);
      return idle;
    case 'saved':
      onStatus({ state: 'enrolled', deviceId: choice.login.deviceId, hardwareId: choice.login.hardwareId });
      useLogin(choice.login);
      return idle;
    case 'enrol': {
      const cloud = config.cloud;
      const enrolment = new Enrolment(
        host,
        log.child('enrol'),
        {
          broker: choice.broker,
          port: cloud.port,
          tls: cloud.tls,
          ...(cloud.caFile !== undefined ? { caFile: cloud.caFile } : {}),
          ...(cloud.certFile !== undefined ? { certFile: cloud.certFile } : {}),
          ...(cloud.keyFile !== undefined ? { keyFile: cloud.keyFile } : {}),
          keepaliveS: cloud.keepaliveS,
          ...(cloud.domain !== undefined ? { domain: cloud.domain } : {}),
          enrolKey: choice.key,
          stateDir: config.agent.stateDir,
          credentialsDir: cloud.credentialsDir,
        },
        { onStatus, onEnrolled: useLogin },
        options,
      );
      enrolment.start();
      return { stop: () => enrolment.stop() };
    }
  }
}
