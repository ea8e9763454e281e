/**
 * serve: `callqos-cloud [options]`, the QoS control server as a process. It starts the embedded
 * broker when there is no --broker, opens the store, connects to the broker and serves until
 * SIGINT or SIGTERM (cli/service.ts), then stops in order: the server (no new work, answers
 * sent), the store, the broker.
 */
import type { Logger } from '../../core/log.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded.ts';
import { generatePassword, hashPassword, loadCredentials, type CredentialEntry } from '../broker/credentials.ts';
import { announce, libraryLog, processLogger, type LogSettings } from '../cli/logging.ts';
import { runService, type StopService } from '../cli/service.ts';
import { loadPublicKeys } from '../clearinghouse/keys.ts';
import { connectServerMqtt } from '../mqtt/client.ts';
import { openStore } from '../store/index.ts';
import type { ServerConfig } from './config.ts';
import { admissionCheck, controlPlanner } from './planner.ts';
import { QosServer } from './server.ts';
import { readPasswordFile } from '../cli/broker-login.ts';
import { setUpFleet } from '../fleet/setup.ts';
import { fleetMount } from '../http/mount.ts';
import { CLOUD_VERSION } from '../version.ts';

const SERVICE = 'callqos-cloud';

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The login this server's own client uses: its user, and the password from --broker-password-file. */
function ownLogin(config: ServerConfig): { user: string; password: string | undefined } {
  const password = readPasswordFile(config.brokerPasswordFile);
  return { user: config.brokerUser ?? config.serverId, password };
}

/**
 * Starts the embedded broker. With --credentials it checks those logins; the server in this same
 * process then gets a login of its own, held in memory with a password made for this run, unless
 * the file has one for it (then --broker-password-file gives the password, as for any broker).
 * So `--credentials data/credentials.jsonl` alone makes the routers log in, and nothing else.
 */
async function startBroker(config: ServerConfig, log: Logger): Promise<{ broker: EmbeddedBroker; password: string | undefined }> {
  const own = ownLogin(config);
  let credentials: Map<string, CredentialEntry> | 'open' = 'open';
  let password = own.password;
  let runLogin: CredentialEntry | null = null;
  if (config.credentialsFile !== null) {
    credentials = loadCredentials(config.credentialsFile);
    if (!credentials.has(own.user) && password === undefined) {
      password = generatePassword();
      runLogin = { user: own.user, kind: 'server', hash: hashPassword(password) };
      credentials.set(own.user, runLogin);
    }
  }
  // The broker logs its own "listening" line, open mode included.
  const started = await startEmbeddedBroker({ host: config.mqttHost, port: config.mqttPort, credentials, log: libraryLog(log, 'broker') });
  return { broker: runLogin === null ? started : keepingLogin(started, runLogin), password };
}

/**
 * The broker, with the server's login made for this run kept in every set of logins handed to it
 * later (enrolment's embedded identities hand it the credentials file's logins after each change):
 * without it, the server could not log in again after a reconnect.
 */
function keepingLogin(broker: EmbeddedBroker, login: CredentialEntry): EmbeddedBroker {
  return {
    host: broker.host,
    port: broker.port,
    setCredentials: (credentials) => broker.setCredentials(credentials.has(login.user) ? credentials : new Map([...credentials, [login.user, login]])),
    disconnectUser: (username) => broker.disconnectUser(username),
    close: () => broker.close(),
  };
}

/** Starts the broker (when embedded), the store and the server, and says where they are. */
async function start(config: ServerConfig, settings: LogSettings, log: Logger): Promise<StopService> {
  const embedded = config.brokerUrl === null ? await startBroker(config, log) : null;
  const broker = embedded?.broker ?? null;
  const brokerUrl = broker === null ? config.brokerUrl! : `mqtt://${urlHost(broker.host)}:${broker.port}`;
  const store = await openStore(config.storeUrl);
  await store.migrate();
  const own = ownLogin(config);
  const bus = await connectServerMqtt({
    url: brokerUrl,
    clientId: config.serverId,
    username: own.user,
    password: embedded === null ? own.password : embedded.password,
    shareGroup: config.shareGroup ?? undefined,
    // The embedded broker (aedes) speaks MQTT 3.1.1 only: asking for 5 first would only be refused.
    protocolVersion: broker === null ? 'auto' : 4,
    log: libraryLog(log, 'mqtt'),
  });
  const verifierFor = config.clearinghouseKeysFile === null ? null : loadPublicKeys(config.clearinghouseKeysFile);
  const fleet = await setUpFleet(config, { store, broker, brokerUrl });
  if (!fleet.ok) throw new Error(`${fleet.error.code}: ${fleet.error.message}`);
  // The operators' API and dashboard share the HTTP port with the session API (src/cloud/http/mount.ts).
  let actions = (): QosServer['fleetActions'] => null;
  const operatorsHttp = fleetMount({ store, fleet: fleet.value?.part.store ?? null, actions: () => actions(), commands: () => server.commands, config: () => server.fleetConfig, host: config.httpHost, port: config.httpPort ?? 0, version: CLOUD_VERSION, log: log.child('http'), clearinghouseStoreUrl: config.clearinghouseStoreUrl });
  const server = new QosServer({ config, store, bus, planner: controlPlanner(), admit: admissionCheck, log, verifierFor, ...(fleet.value ? { fleet: fleet.value.part } : {}), mountHttp: operatorsHttp.mountHttp });
  actions = () => server.fleetActions;
  const { http } = await server.start();
  const api = http ? `http://${urlHost(http.host)}:${http.port}/v1/sessions, dashboard http://${urlHost(http.host)}:${http.port}/` : 'off';
  const enrolment = config.identities === 'off' ? '' : `, enrolment on (${config.identities} logins)`;
  announce(settings, SERVICE, `callqos-cloud ${config.serverId}: MQTT ${brokerUrl}${broker ? ' (embedded)' : ''}, session API ${api}, store ${config.storeUrl}${enrolment}`);
  // In order: the server (no new work, answers sent), the fleet's broker link, the store, the broker.
  return async () => {
    // The HTTP port first: no new requests (the session API's included) while the server stops.
    await operatorsHttp.close();
    await server.stop();
    await fleet.value?.close();
    await store.close();
    await broker?.close();
  };
}

/** Runs the server until a stop signal; the exit status. */
export function serve(config: ServerConfig): Promise<number> {
  const settings: LogSettings = { level: config.logLevel, format: config.logFormat };
  const log = processLogger(settings, SERVICE);
  return runService(log, () => start(config, settings, log));
}
