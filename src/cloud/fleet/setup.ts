/**
 * The fleet part of a running server, from its settings (--identities, --dynsec-login,
 * --enrol-retry-s): the fleet store on the server store's connection, and the broker identities
 * where routers' logins are made: the embedded broker's credentials file, or Mosquitto's dynamic
 * security as its admin.
 */
import { statSync, readFileSync } from 'node:fs';
import { coreError, fail, ok, type Result } from '../../core/result.ts';
import type { EmbeddedBroker } from '../broker/embedded.ts';
import type { ServerConfig } from '../server/config.ts';
import type { FleetParts } from '../server/server.ts';
import type { Store } from '../store/types.ts';
import { createDynsecIdentities } from './identities-dynsec.ts';
import { createEmbeddedIdentities } from './identities-embedded.ts';
import type { BrokerIdentities } from './identities.ts';
import { openFleetStore } from './store/index.ts';

export interface AdminLogin {
  readonly username: string;
  readonly password: string;
}

/**
 * The dynamic-security admin's `user:password` from its file. The file must be a regular file
 * that neither its group nor others can read or write: it holds the keys to every login.
 */
export function readAdminLoginFile(path: string): Result<AdminLogin> {
  const bad = (message: string): Result<never> => fail(coreError('E_ARGS', `--dynsec-login ${path}: ${message}`, '--dynsec-login'));
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return bad('not a regular file');
    if ((stat.mode & 0o077) !== 0) return bad(`readable or writable by others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return bad(`cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const line = text.replace(/\r?\n$/, '');
  const colon = line.indexOf(':');
  if (line.includes('\n') || colon <= 0 || colon === line.length - 1) return bad('want one line, user:password');
  const username = line.slice(0, colon);
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(username)) return bad('the user name has characters other than letters, digits and _ . @ -');
  return ok({ username, password: line.slice(colon + 1) });
}

export interface FleetSetup {
  readonly part: FleetParts;
  /** Closes what the fleet part opened of its own (the dynsec control connection). */
  close(): Promise<void>;
}

export interface FleetSetupInputs {
  readonly store: Store;
  /** The embedded broker, when the server runs one. */
  readonly broker: Pick<EmbeddedBroker, 'setCredentials' | 'disconnectUser'> | null;
  readonly brokerUrl: string;
}

/** Null with --identities off. The fleet store is migrated here (after the server's store). */
export async function setUpFleet(config: ServerConfig, inputs: FleetSetupInputs): Promise<Result<FleetSetup | null>> {
  if (config.identities === 'off') return ok(null);
  // Logins of a domain are in its tree (src/core/protocol/acl.ts), as the server's own topics are.
  const domain = config.topicTree === 'domain' ? { domain: config.domain ?? config.serverId } : {};
  let identities: BrokerIdentities;
  let close = (): Promise<void> => Promise.resolve();
  if (config.identities === 'embedded') {
    if (inputs.broker === null || config.credentialsFile === null) return fail(coreError('E_ARGS', '--identities embedded needs the embedded broker and --credentials', '--identities'));
    identities = createEmbeddedIdentities({ credentialsFile: config.credentialsFile, broker: inputs.broker, ...domain });
  } else {
    const login = readAdminLoginFile(config.dynsecLoginFile ?? '');
    if (!login.ok) return login;
    const dynsec = createDynsecIdentities({ url: inputs.brokerUrl, username: login.value.username, password: login.value.password, clientId: `${config.serverId}-dynsec`, ...domain });
    identities = dynsec;
    close = () => dynsec.close();
  }
  const store = openFleetStore(inputs.store);
  await store.migrate();
  return ok({ part: { store, identities, enrolment: { pendingRetryS: config.enrolRetryS } }, close });
}
