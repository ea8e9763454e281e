/**
 * identities-embedded: device logins on the embedded aedes broker (src/cloud/broker/embedded.ts),
 * kept in the credentials file it reads (src/cloud/broker/credentials.ts: scrypt hashes, 0600,
 * written atomically). Every change rewrites the file and hands the whole set to the running
 * broker (setCredentials), so the next login is judged by it; disabling or removing a device also
 * closes its live connections at once (disconnectUser). The ACL is the broker's own
 * (src/core/protocol/acl.ts), from the login's kind: `device`, and `enrol` for the shared
 * enrolment login.
 *
 * Open mode (a broker started with credentials 'open', for development on one machine): the
 * logins are still recorded in the file and disable/remove still close the live connections, but
 * the broker lets ANY client in as a server whatever the file says, so a disabled or removed
 * device simply connects again. Nothing here is a security boundary in that mode.
 *
 * The file is also edited by `callqos-cloud credentials …`; each change reads it afresh, but two
 * writers at the same moment are last-writer-wins (the rename is atomic, the merge is not).
 */
import { ENROL_PASSWORD, ENROL_USERNAME } from '../../core/protocol/acl.ts';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { coreError, fail, ok, type Result } from '../../core/result.ts';
import { hashPassword, hashPasswordAsync, loadCredentials, saveCredentials, type CredentialEntry } from '../broker/credentials.ts';
import type { EmbeddedBroker } from '../broker/embedded.ts';
import type { BrokerIdentities } from './identities.ts';

export interface EmbeddedIdentitiesOptions {
  /** The credentials file the embedded broker was started with. */
  readonly credentialsFile: string;
  readonly broker: Pick<EmbeddedBroker, 'setCredentials' | 'disconnectUser'>;
  /** The policy domain of the device and enrolment logins made here; none: the plain tree. */
  readonly domain?: string;
}

type Entries = Map<string, CredentialEntry>;

export function createEmbeddedIdentities(options: EmbeddedIdentitiesOptions): BrokerIdentities {
  const { credentialsFile, broker, domain } = options;
  const inDomain = domain !== undefined ? { domain } : {};

  /** Reads the file, lets `change` edit the entries, writes the file and gives the broker the result. */
  function update(change: (entries: Entries) => Result<boolean>): Result<void> {
    let entries: Entries;
    try {
      entries = loadCredentials(credentialsFile);
    } catch (error) {
      return fail(coreError('E_CREDENTIALS_FILE', `reading ${credentialsFile}: ${(error as Error).message}`));
    }
    const changed = change(entries);
    if (!changed.ok) return changed;
    if (changed.value) {
      try {
        saveCredentials(credentialsFile, entries);
      } catch (error) {
        return fail(coreError('E_CREDENTIALS_FILE', `writing ${credentialsFile}: ${(error as Error).message}`));
      }
    }
    broker.setCredentials(entries);
    return ok(undefined);
  }

  function checkDeviceId(deviceId: string): Result<void> {
    if (typeof deviceId !== 'string' || !DEVICE_ID.test(deviceId)) {
      return fail(coreError('E_INVALID_ID', `deviceId: not a valid device id: ${JSON.stringify(deviceId)}`, 'deviceId'));
    }
    if (deviceId === ENROL_USERNAME) return fail(coreError('E_INVALID_ID', `deviceId: ${deviceId} is the shared enrolment login`, 'deviceId'));
    return ok(undefined);
  }

  /** The device's entry; a login of another kind under that name is a conflict, never overwritten. */
  function deviceEntry(entries: Entries, deviceId: string): Result<CredentialEntry | undefined> {
    const entry = entries.get(deviceId);
    if (entry !== undefined && entry.kind !== 'device') {
      return fail(coreError('E_IDENTITY_CONFLICT', `deviceId: ${deviceId} is already a login of kind ${entry.kind}`, 'deviceId'));
    }
    return ok(entry);
  }

  function setDisabled(deviceId: string, disabled: boolean): Result<void> {
    const valid = checkDeviceId(deviceId);
    if (!valid.ok) return valid;
    return update((entries) => {
      const found = deviceEntry(entries, deviceId);
      if (!found.ok) return found;
      const entry = found.value;
      if (entry === undefined) return fail(coreError('E_NOT_FOUND', `no broker login for device ${deviceId}`, 'deviceId'));
      const { disabled: _was, ...rest } = entry;
      entries.set(deviceId, disabled ? { ...rest, disabled: true } : rest);
      return ok(true);
    });
  }

  return {
    kind: 'embedded',

    prepare() {
      return Promise.resolve(update((entries) => {
        const entry = entries.get(ENROL_USERNAME);
        if (entry !== undefined && entry.kind !== 'enrol') {
          return fail(coreError('E_IDENTITY_CONFLICT', `${ENROL_USERNAME} is already a login of kind ${entry.kind}`));
        }
        // An existing enrolment login stays as it is (an operator may have disabled it).
        if (entry !== undefined) return ok(false);
        entries.set(ENROL_USERNAME, { user: ENROL_USERNAME, kind: 'enrol', hash: hashPassword(ENROL_PASSWORD), ...inDomain });
        return ok(true);
      }));
    },

    upsertDevice(deviceId, password) {
      const valid = checkDeviceId(deviceId);
      if (!valid.ok) return Promise.resolve(valid);
      if (typeof password !== 'string' || password.length === 0) {
        return Promise.resolve(fail(coreError('E_INVALID_PASSWORD', 'password: must be a non-empty string', 'password')));
      }
      // Hashed first, off the event loop (scrypt costs tens of milliseconds); the file is then
      // read, changed and written in one turn, so two upserts never interleave.
      return hashPasswordAsync(password).then((hash) => update((entries) => {
        const found = deviceEntry(entries, deviceId);
        if (!found.ok) return found;
        // A live connection made with the old password stays (as on any broker, a password is
        // checked at login); the device reconnects with the new one when it is told.
        entries.set(deviceId, { user: deviceId, kind: 'device', hash, ...inDomain });
        return ok(true);
      }));
    },

    disconnectDevice(deviceId) {
      broker.disconnectUser(deviceId);
    },

    disableDevice(deviceId) {
      const done = setDisabled(deviceId, true);
      if (done.ok) broker.disconnectUser(deviceId);
      return Promise.resolve(done);
    },

    enableDevice(deviceId) {
      return Promise.resolve(setDisabled(deviceId, false));
    },

    removeDevice(deviceId) {
      const valid = checkDeviceId(deviceId);
      if (!valid.ok) return Promise.resolve(valid);
      const done = update((entries) => {
        const found = deviceEntry(entries, deviceId);
        if (!found.ok) return found;
        return ok(entries.delete(deviceId));
      });
      if (done.ok) broker.disconnectUser(deviceId);
      return Promise.resolve(done);
    },
  };
}
