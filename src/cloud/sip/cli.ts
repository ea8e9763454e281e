/**
 * `callqos-cloud sip run …`: the built-in SIP proxy as a program. It reaches the QoS control
 * server through the broker (the session API on `callqos/v1/cc/<id>/…`).
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '../../core/log.ts';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { connectServerMqtt } from '../mqtt/client.ts';
import { SipProxy } from './proxy.ts';
import { Registrar } from './registrar.ts';
import { MqttSessionClient } from './session-client.ts';
import { treeRoot } from '../../core/protocol/topics.ts';
import { TransactionLayer } from './transactions.ts';
import { SipTransport } from './transport.ts';
import { hostText } from './routing.ts';

export const SIP_USAGE = `callqos-cloud sip run: the built-in SIP proxy, feeding the session API

  --id <id>                  its id: the session API client name and broker login (default sip-proxy-1)
  --broker <url>             mqtt://host:port of the broker the QoS control server uses (required)
  --broker-user <name>       login at the broker (default: the id)
  --broker-password-file <f> file holding its password
  --policy-domain <id>       on a broker several policy domains share: the one whose session API
                             this proxy uses (its QoS server runs with --topic-tree domain)
  --listen <host:port>       where to take SIP over UDP and TCP (default 0.0.0.0:5060)
  --advertise <host>         the address others reach the proxy at, for Via and Record-Route (default: the listen host)
  --domain <name>            a domain whose phones register here (repeatable)
  --qos <hold|forward>       hold the 200 OK until QoS is active, or forward it at once (default hold)
  --session-timeout-ms <ms>  how long to wait for the session API (default 3000)
  --dialog-timeout-s <s>     a call with no SIP for this long has lost its BYE (default 7200)
  --unauthorized <policy>    best-effort (default): a call the clearinghouse did not authorize goes on
                             without QoS; refuse: it is ended (the caller gets 403; with --qos hold)
  --log-level <level>        debug, info, warn or error (default info)
`;

function parse(argv: readonly string[]): Map<string, string[]> {
  const allowed = ['--id', '--broker', '--broker-user', '--broker-password-file', '--policy-domain', '--listen', '--advertise', '--domain', '--qos', '--session-timeout-ms', '--dialog-timeout-s', '--unauthorized', '--log-level'];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!allowed.includes(flag)) throw new Error(`unknown option ${flag} (see sip --help)`);
    if (value === undefined) throw new Error(`${flag} needs a value`);
    flags.set(flag, [...(flags.get(flag) ?? []), value]);
  }
  return flags;
}

function number(text: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new Error(`${flag} wants a whole number in ${min}..${max}, got ${JSON.stringify(text)}`);
  return n;
}

export async function runSipCli(argv: readonly string[], out: (line: string) => void): Promise<number> {
  if (argv[0] !== 'run') {
    out(SIP_USAGE);
    return argv[0] === '--help' || argv[0] === '-h' ? 0 : 2;
  }
  const f = parse(argv.slice(1));
  const one = (flag: string) => f.get(flag)?.at(-1);
  const id = one('--id') ?? 'sip-proxy-1';
  if (!DEVICE_ID.test(id)) throw new Error('--id must be letters, digits, . _ - (up to 64)');
  const broker = one('--broker');
  if (broker === undefined) throw new Error('--broker is required');
  const listen = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(one('--listen') ?? '0.0.0.0:5060');
  if (!listen) throw new Error('--listen wants host:port');
  const listenHost = listen[1]!.replace(/^\[|\]$/g, '');
  const qos = one('--qos') ?? 'hold';
  if (qos !== 'hold' && qos !== 'forward') throw new Error('--qos is hold or forward');
  const unauthorized = one('--unauthorized') ?? 'best-effort';
  if (unauthorized !== 'best-effort' && unauthorized !== 'refuse') throw new Error('--unauthorized is best-effort or refuse');
  const level = (one('--log-level') ?? 'info') as 'debug' | 'info' | 'warn' | 'error';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new Error('--log-level is debug, info, warn or error');
  const log = createLogger((line) => process.stderr.write(`${line}\n`), level, { service: 'callqos-sip' });
  const domains = (f.get('--domain') ?? []).map((d) => d.toLowerCase());
  const policyDomain = one('--policy-domain');
  if (policyDomain !== undefined && !DEVICE_ID.test(policyDomain)) throw new Error('--policy-domain must be letters, digits, . _ - (up to 64)');

  const passwordFile = one('--broker-password-file');
  const bus = await connectServerMqtt({ url: broker, clientId: id, username: one('--broker-user') ?? id, password: passwordFile === undefined ? undefined : readFileSync(passwordFile, 'utf8').trim() });
  const sessions = await MqttSessionClient.connect(bus, id, number(one('--session-timeout-ms'), '--session-timeout-ms', 3000, 100, 60_000), log.child('session-api'), treeRoot(policyDomain));
  const transport = await SipTransport.listen(listenHost, Number(listen[2]), log.child('transport'));
  const advertise = one('--advertise') ?? (listenHost === '0.0.0.0' || listenHost === '::' ? null : listenHost);
  if (advertise === null) throw new Error('--advertise is required when listening on all addresses');
  const transactions = new TransactionLayer(transport, `${hostText(advertise)}:${transport.port}`);
  const registrar = new Registrar({ maxExpiresS: 3600, defaultExpiresS: 3600, now: Date.now });
  const proxy = new SipProxy(transport, transactions, registrar, sessions, {
    address: { host: advertise, port: transport.port },
    domains,
    qos,
    unauthorized,
    dialogTimeoutMs: number(one('--dialog-timeout-s'), '--dialog-timeout-s', 7200, 10, 86400 * 7) * 1000,
  }, log);
  const sweep = setInterval(() => {
    proxy.expireDialogs();
    registrar.purge();
  }, 10_000);
  out(`callqos SIP proxy ${id}: SIP on ${hostText(listenHost)}:${transport.port} (UDP, TCP) as ${advertise}, QoS ${qos}, session API over ${broker}`);
  return new Promise<number>((resolve) => {
    const stop = () =>
      void (async () => {
        clearInterval(sweep);
        transactions.close();
        await transport.close();
        await bus.close();
        resolve(0);
      })();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
