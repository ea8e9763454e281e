/**
 * serve: `callqos-cloud [options]`, the QoS control server as a process. It starts the embedded
 * broker when there is no --broker, opens the store, connects to the broker and serves until
 * SIGINT or SIGTERM, then stops in order: the server (no new work, answers sent), the store,
 * the broker.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../../core/log.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded.ts';
import { loadCredentials } from '../broker/credentials.ts';
import { announce, libraryLog, processLogger, type LogSettings } from '../cli/logging.ts';
import { stopSignal } from '../cli/signals.ts';
import { loadPublicKeys } from '../clearinghouse/keys.ts';
import { connectServerMqtt } from '../mqtt/client.ts';
import { openStore, type Store } from '../store/index.ts';
import type { ServerConfig } from './config.ts';
import { admissionCheck, controlPlanner } from './planner.ts';
import { QosServer } from './server.ts';

const SERVICE = 'callqos-cloud';

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function startBroker(config: ServerConfig, log: Logger): Promise<EmbeddedBroker> {
  const credentials = config.credentialsFile === null ? 'open' : loadCredentials(config.credentialsFile);
  // The broker logs its own "listening" line, open mode included.
  return startEmbeddedBroker({ host: config.mqttHost, port: config.mqttPort, credentials, log: libraryLog(log, 'broker') });
}

interface Running {
  readonly server: QosServer;
  readonly store: Store;
  readonly broker: EmbeddedBroker | null;
}

/** Starts the broker (when embedded), the store and the server, and says where they are. */
async function start(config: ServerConfig, settings: LogSettings, log: Logger): Promise<Running> {
  const broker = config.brokerUrl === null ? await startBroker(config, log) : null;
  const brokerUrl = broker === null ? config.brokerUrl! : `mqtt://${urlHost(broker.host)}:${broker.port}`;
  const store = await openStore(config.storeUrl);
  await store.migrate();
  const password = config.brokerPasswordFile === null ? undefined : readFileSync(config.brokerPasswordFile, 'utf8').trim();
  const bus = await connectServerMqtt({
    url: brokerUrl,
    clientId: config.serverId,
    username: config.brokerUser ?? config.serverId,
    password,
    shareGroup: config.shareGroup ?? undefined,
    // The embedded broker (aedes) speaks MQTT 3.1.1 only: asking for 5 first would only be refused.
    protocolVersion: broker === null ? 'auto' : 4,
    log: libraryLog(log, 'mqtt'),
  });
  const verifierFor = config.clearinghouseKeysFile === null ? null : loadPublicKeys(config.clearinghouseKeysFile);
  const server = new QosServer({ config, store, bus, planner: controlPlanner(), admit: admissionCheck, log, verifierFor });
  const { http } = await server.start();
  const api = http ? `http://${urlHost(http.host)}:${http.port}/v1/sessions` : 'off';
  announce(settings, SERVICE, `callqos-cloud ${config.serverId}: MQTT ${brokerUrl}${broker ? ' (embedded)' : ''}, session API ${api}, store ${config.storeUrl}`);
  return { server, store, broker };
}

/** Runs the server until a stop signal; the exit status. */
export async function serve(config: ServerConfig): Promise<number> {
  const settings: LogSettings = { level: config.logLevel, format: config.logFormat };
  const log = processLogger(settings, SERVICE);
  const stopping = stopSignal();
  let running: Running;
  try {
    running = await start(config, settings, log);
  } catch (error) {
    // A port in use, a store or broker out of reach: said in the log's format, like every other line.
    log.error('cannot start', { error: error instanceof Error ? error.message : String(error) });
    return 1;
  }

  const signal = await stopping;
  log.info('stopping', { signal });
  // A stop that fails still ends the program, with the reason and a failing status.
  try {
    await running.server.stop();
    await running.store.close();
    await running.broker?.close();
  } catch (error) {
    log.error('stopping failed', { error: String(error) });
    return 1;
  }
  log.info('stopped', { signal });
  return 0;
}
