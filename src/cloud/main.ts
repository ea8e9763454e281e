/**
 * `callqos-cloud`: the cloud side in one program.
 *
 *   callqos-cloud [options]              the QoS control server and its session API (see --help);
 *                                        without --broker it runs an embedded broker too
 *   callqos-cloud credentials <...>      manage broker logins (see credentials --help)
 *   callqos-cloud clearinghouse <...>    the clearinghouse: keys, service, settlement (see clearinghouse --help)
 *   callqos-cloud sip run <...>          the built-in SIP proxy (see sip --help)
 *
 * `npm start` runs it with the embedded defaults: an in-process broker and a SQLite file.
 */
import { readFileSync } from 'node:fs';
import { startEmbeddedBroker } from './broker/embedded.ts';
import type { EmbeddedBroker } from './broker/embedded.ts';
import { loadCredentials } from './broker/credentials.ts';
import { runCredentialsCli } from './broker/credentials-cli.ts';
import { runClearinghouseCli } from './clearinghouse/cli.ts';
import { loadPublicKeys } from './clearinghouse/keys.ts';
import { runSipCli } from './sip/cli.ts';
import { connectServerMqtt } from './mqtt/client.ts';
import { createLogger } from '../core/log.ts';
import { parseServerArgs, USAGE } from './server/config.ts';
import { admissionCheck, controlPlanner } from './server/planner.ts';
import { QosServer } from './server/server.ts';
import { openStore } from './store/index.ts';

async function serve(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parsed = parseServerArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`callqos-cloud: ${parsed.error.message}\n`);
    return 2;
  }
  const config = parsed.value;
  const log = createLogger((line) => process.stderr.write(line + '\n'), config.logLevel, { service: 'callqos-cloud' });

  let broker: EmbeddedBroker | null = null;
  let brokerUrl = config.brokerUrl;
  if (brokerUrl === null) {
    const credentials = config.credentialsFile === null ? 'open' : loadCredentials(config.credentialsFile);
    const brokerLog = {
      info: (message: string, fields?: Record<string, unknown>) => log.info(`broker: ${message}`, { detail: fields ? JSON.stringify(fields) : undefined }),
      warn: (message: string, fields?: Record<string, unknown>) => log.warn(`broker: ${message}`, { detail: fields ? JSON.stringify(fields) : undefined }),
    };
    broker = await startEmbeddedBroker({ host: config.mqttHost, port: config.mqttPort, credentials, log: brokerLog });
    brokerUrl = `mqtt://${broker.host.includes(':') ? `[${broker.host}]` : broker.host}:${broker.port}`;
    log.info('embedded MQTT broker listening', { url: brokerUrl, logins: credentials === 'open' ? 'open (development)' : credentials.size });
  }

  const store = await openStore(config.storeUrl);
  await store.migrate();
  const password = config.brokerPasswordFile === null ? undefined : readFileSync(config.brokerPasswordFile, 'utf8').trim();
  const bus = await connectServerMqtt({
    url: brokerUrl,
    clientId: config.serverId,
    username: config.brokerUser ?? config.serverId,
    password,
    shareGroup: config.shareGroup ?? undefined,
  });
  const verifierFor = config.clearinghouseKeysFile === null ? null : loadPublicKeys(config.clearinghouseKeysFile);
  const server = new QosServer({ config, store, bus, planner: controlPlanner(), admit: admissionCheck, log, verifierFor });
  const { http } = await server.start();
  process.stdout.write(
    `callqos-cloud ${config.serverId}: MQTT ${brokerUrl}${broker ? ' (embedded)' : ''}, session API ${http ? `http://${http.host.includes(':') ? `[${http.host}]` : http.host}:${http.port}/v1/sessions` : 'off'}, store ${config.storeUrl}\n`,
  );

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info('stopping', { signal });
      void (async () => {
        await server.stop();
        await store.close();
        await broker?.close();
        resolve(0);
      })();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

async function run(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'credentials') {
    return runCredentialsCli(argv.slice(1), { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) });
  }
  if (argv[0] === 'sip') return runSipCli(argv.slice(1), (line) => process.stdout.write(`${line}\n`));
  if (argv[0] === 'clearinghouse') return runClearinghouseCli(argv.slice(1), (line) => process.stdout.write(`${line}\n`));
  return serve(argv);
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`callqos-cloud: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
