/**
 * A device's own broker login, made and unmade through the broker's real management interface:
 * Mosquitto's dynamic-security plugin (`$CONTROL/dynamic-security/v1`, identities-dynsec.ts) or,
 * for the embedded broker, its credentials store (identities-embedded.ts). Username = device id;
 * the rights are the device ACL of src/core/protocol/acl.ts and nothing else.
 */
import type { Result } from '../../core/result.ts';

export interface BrokerIdentities {
  readonly kind: 'dynsec' | 'embedded';
  /** Makes sure the shared enrolment login and the roles exist (at the server's start). Idempotent. */
  prepare(): Promise<Result<void>>;
  /** Creates the device's login with this password, or replaces the password and enables it. */
  upsertDevice(deviceId: string, password: string): Promise<Result<void>>;
  /**
   * Ends the device's live connection so that it logs in again (after its password changed).
   * Absent where the broker does that by itself (dynamic security, on a password change).
   */
  disconnectDevice?(deviceId: string): void;
  /** Disables the login and disconnects its live connection at once. */
  disableDevice(deviceId: string): Promise<Result<void>>;
  enableDevice(deviceId: string): Promise<Result<void>>;
  /** Deletes the login (and disconnects it); ok when there was none. */
  removeDevice(deviceId: string): Promise<Result<void>>;
}
