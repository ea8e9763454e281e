/**
 * embedded: the in-process MQTT broker (aedes 1.x) that lets one command run everything on one
 * machine (DESIGN.md section 6). Every login is checked against the credentials file and every
 * publish, subscribe and will against src/core/protocol/acl.ts; the principal comes from the
 * username, never from the client id. An "open" mode for development lets anyone in as a server.
 *
 * aedes speaks MQTT 3.1.1 only: no shared subscriptions, so one server instance consumes the
 * device uplinks. TCP_NODELAY is set on every accepted socket: with Nagle's algorithm a request
 * and its answer wait for delayed ACKs (about 88 ms per round trip, /work/shared/MEASURED.md).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import { mayPublish, maySubscribe, type Principal } from '../../core/protocol/acl.ts';
import { authenticateLogin, type CredentialEntry } from './credentials.ts';
import { createLogger } from '../../core/log.ts';
import { libraryLog } from '../cli/logging.ts';

export interface BrokerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface EmbeddedBrokerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port (see the returned `port`). */
  readonly port: number;
  /**
   * The logins (see credentials.ts loadCredentials), or 'open': anyone connects, with any or no
   * username, as a server principal. Only for development on one machine; it is logged loudly.
   */
  readonly credentials: ReadonlyMap<string, CredentialEntry> | 'open';
  readonly log?: BrokerLog;
}

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  /** Replaces the logins in use (after the credentials file changed); connected clients stay. */
  setCredentials(credentials: ReadonlyMap<string, CredentialEntry>): void;
  /**
   * Closes at once every live connection that logged in as `username` (a revoked device); returns
   * how many. Whether it can log in again is up to the credentials (in open mode it can).
   */
  disconnectUser(username: string): number;
  close(): Promise<void>;
}

/** Without a log of the caller's: text lines on standard error, in the cloud program's one format. */
const defaultLog: BrokerLog = libraryLog(createLogger((line) => process.stderr.write(`${line}\n`)), 'broker');

/** MQTT 3.1.1 CONNACK return codes aedes passes on from an authenticate error. */
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function refusal(message: string, returnCode: number): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const log = options.log ?? defaultLog;
  const host = options.host ?? '127.0.0.1';
  const open = options.credentials === 'open';
  let logins: ReadonlyMap<string, CredentialEntry> = open ? new Map() : (options.credentials as ReadonlyMap<string, CredentialEntry>);
  // The principal each connected client authenticated as; a client object never changes identity.
  const principals = new WeakMap<Client, Principal>();
  // Wills are held back until authenticate has judged them (see preConnect).
  const pendingWills = new WeakMap<Client, NonNullable<ConnectPacket['will']>>();
  // Authenticated clients still connected, for disconnectUser.
  const liveClients = new Set<Client>();

  if (open) {
    log.warn('OPEN MODE: the broker accepts ANY client without a password and lets it publish and subscribe ' +
      'anywhere in callqos/v1. Use this for development on one machine only.');
  }

  const handlers: AedesOptions = {
    preConnect(client, packet, callback) {
      if (packet.will) pendingWills.set(client, packet.will);
      callback(null, true);
    },
    authenticate(client, username, password, callback) {
      const judge = async (): Promise<Principal | undefined> => {
        if (open) return { kind: 'server', id: username !== undefined && username !== '' ? username : 'open' };
        return authenticateLogin(logins, username, password);
      };
      judge().then((principal) => {
        if (principal === undefined) {
          log.warn('login refused', { clientId: client.id, username });
          return callback(refusal('bad username or password', BAD_USERNAME_OR_PASSWORD), false);
        }
        // Refuse at once a will aimed at someone else's topic, rather than drop it silently later.
        const will = pendingWills.get(client);
        if (will !== undefined && !mayPublish(principal, will.topic)) {
          log.warn('login refused: will topic not allowed', { clientId: client.id, username, topic: will.topic });
          return callback(refusal(`will topic not allowed: ${will.topic}`, NOT_AUTHORIZED), false);
        }
        // The login may have been disabled or removed while its password was being checked.
        const current = open ? undefined : logins.get(principal.id);
        if (!open && (current === undefined || current.disabled === true)) {
          log.warn('login refused: removed or disabled meanwhile', { clientId: client.id, username });
          return callback(refusal('bad username or password', BAD_USERNAME_OR_PASSWORD), false);
        }
        principals.set(client, principal);
        liveClients.add(client);
        callback(null, true);
      }, (error: unknown) => {
        log.warn('login check failed', { clientId: client.id, username, error: String(error) });
        callback(refusal('login check failed', NOT_AUTHORIZED), false);
      });
    },
    // Also called for a will when its client goes away (aedes 1.x, lib/client.js): the same rule applies.
    authorizePublish(client, packet: PublishPacket, callback) {
      const principal = client === null ? undefined : principals.get(client);
      if (principal !== undefined && mayPublish(principal, packet.topic)) return callback(null);
      log.warn('publish refused', { clientId: client?.id, principal, topic: packet.topic });
      // aedes closes the connection on an error: MQTT 3.1.1 has no other way to refuse a publish.
      callback(new Error(`publish to ${packet.topic} not allowed`));
    },
    authorizeSubscribe(client, subscription: Subscription, callback) {
      const principal = principals.get(client);
      if (principal !== undefined && maySubscribe(principal, subscription.topic)) return callback(null, subscription);
      log.warn('subscribe refused', { clientId: client.id, principal, topic: subscription.topic });
      // A null subscription is a failure return code (0x80) in the SUBACK; the connection stays.
      callback(null, null);
    },
  };

  const aedes = await Aedes.createBroker(handlers);
  aedes.on('clientDisconnect', (client) => liveClients.delete(client));
  aedes.on('clientError', (client, error) => log.info('client error', { clientId: client.id, error: error.message }));

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  log.info('listening', { host, port, mode: open ? 'open' : 'credentials', logins: logins.size });

  return {
    host,
    port,
    setCredentials(credentials) {
      logins = credentials;
    },
    disconnectUser(username) {
      let closed = 0;
      for (const client of liveClients) {
        if (client.closed) liveClients.delete(client);
        else if (principals.get(client)?.id === username) {
          liveClients.delete(client);
          client.close();
          closed++;
        }
      }
      if (closed > 0) log.info('disconnected', { username, connections: closed });
      return closed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        aedes.close(() => server.close(() => resolve()));
      }),
  };
}
