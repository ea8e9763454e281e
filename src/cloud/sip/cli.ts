/**
 * `callqos-cloud sip run …`: the built-in SIP proxy as a program. It reaches the QoS control
 * server through the broker (the session API on `callqos/v1/cc/<id>/…`).
 */
import { allValues, ArgsError, checked, hostPort, lastValue, optionalNumber, parseOrExit, usageOf, type CliIo, type CommandSpec } from '../cli/args.ts';
import { runService } from '../cli/service.ts';
import { announce, DEFAULT_LOG_SETTINGS, libraryLog, LOG_OPTIONS, parseLogFormat, parseLogLevel, processLogger } from '../cli/logging.ts';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { connectServerMqtt } from '../mqtt/client.ts';
import { SipProxy } from './proxy.ts';
import { Registrar } from './registrar.ts';
import { MqttSessionClient } from './session-client.ts';
import { treeRoot } from '../../core/protocol/topics.ts';
import { TransactionLayer } from './transactions.ts';
import { SipTransport } from './transport.ts';
import { hostText } from './routing.ts';
import { BROKER_LOGIN_OPTIONS, readPasswordFile } from '../cli/broker-login.ts';

export const SIP_RUN_COMMAND: CommandSpec = {
  name: 'callqos-cloud sip run',
  summary: 'The built-in SIP proxy, feeding the session API of the QoS control server over the broker.',
  options: [
    { name: 'id', value: '<id>', help: 'its id: the session API client name and broker login (default sip-proxy-1)' },
    { name: 'broker', value: '<url>', help: 'mqtt://host:port of the broker the QoS control server uses (required)' },
    ...BROKER_LOGIN_OPTIONS,
    { name: 'policy-domain', value: '<id>', help: 'on a broker several policy domains share: the one whose session API\nthis proxy uses (its QoS server runs with --topic-tree domain)' },
    { name: 'listen', value: '<host:port>', help: 'where to take SIP over UDP and TCP (default 0.0.0.0:5060)' },
    { name: 'advertise', value: '<host>', help: 'the address others reach the proxy at, for Via and Record-Route\n(default: the listen host)' },
    { name: 'domain', value: '<name>', help: 'a domain whose phones register here (repeatable)' },
    { name: 'qos', value: '<hold|forward>', help: 'hold the 200 OK until QoS is active, or forward it at once (default hold)' },
    { name: 'session-timeout-ms', value: '<ms>', help: 'how long to wait for the session API (default 3000)' },
    { name: 'dialog-timeout-s', value: '<s>', help: 'a call with no SIP for this long has lost its BYE (default 7200)' },
    { name: 'unauthorized', value: '<policy>', help: 'best-effort (default): a call the clearinghouse did not authorize goes on\nwithout QoS; refuse: it is ended (the caller gets 403; with --qos hold)' },
    ...LOG_OPTIONS,
  ],
};

export const SIP_COMMAND: CommandSpec = {
  name: 'callqos-cloud sip',
  synopsis: 'run [options]',
  summary: 'SIP call control: the built-in proxy.',
  options: [],
  epilogue: 'commands:\n  run    the SIP proxy (see callqos-cloud sip run --help)',
};

export async function runSipCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] !== 'run') {
    const parsed = parseOrExit(SIP_COMMAND, argv, io);
    if (typeof parsed === 'number') return parsed;
    io.err(usageOf(SIP_COMMAND).trimEnd());
    return 2;
  }
  const f = parseOrExit(SIP_RUN_COMMAND, argv.slice(1), io);
  if (typeof f === 'number') return f;
  const one = (flag: string) => lastValue(f, flag);
  const id = one('--id') ?? 'sip-proxy-1';
  if (!DEVICE_ID.test(id)) throw new ArgsError('--id must be letters, digits, . _ - (up to 64)');
  const broker = one('--broker');
  if (broker === undefined) throw new ArgsError('--broker is required (see callqos-cloud sip run --help)');
  const listen = checked(hostPort(one('--listen') ?? '0.0.0.0:5060', '--listen'));
  const listenHost = listen.host;
  const qos = one('--qos') ?? 'hold';
  if (qos !== 'hold' && qos !== 'forward') throw new ArgsError('--qos is hold or forward');
  const unauthorized = one('--unauthorized') ?? 'best-effort';
  if (unauthorized !== 'best-effort' && unauthorized !== 'refuse') throw new ArgsError('--unauthorized is best-effort or refuse');
  const logSettings = {
    level: checked(parseLogLevel(one('--log-level') ?? DEFAULT_LOG_SETTINGS.level)),
    format: checked(parseLogFormat(one('--log-format') ?? DEFAULT_LOG_SETTINGS.format)),
  };
  const log = processLogger(logSettings, 'callqos-sip');
  const domains = allValues(f, '--domain').map((d) => d.toLowerCase());
  const policyDomain = one('--policy-domain');
  if (policyDomain !== undefined && !DEVICE_ID.test(policyDomain)) throw new ArgsError('--policy-domain must be letters, digits, . _ - (up to 64)');
  const advertise = one('--advertise') ?? (listenHost === '0.0.0.0' || listenHost === '::' ? null : listenHost);
  if (advertise === null) throw new ArgsError('--advertise is required when listening on all addresses');
  const sessionTimeoutMs = optionalNumber(one('--session-timeout-ms'), '--session-timeout-ms', 3000, 100, 60_000);
  const dialogTimeoutMs = optionalNumber(one('--dialog-timeout-s'), '--dialog-timeout-s', 7200, 10, 86400 * 7) * 1000;

  return runService(log, async () => {
    const passwordFile = one('--broker-password-file');
    const bus = await connectServerMqtt({ url: broker, clientId: id, username: one('--broker-user') ?? id, password: readPasswordFile(passwordFile), log: libraryLog(log, 'mqtt') });
    const sessions = await MqttSessionClient.connect(bus, id, sessionTimeoutMs, log.child('session-api'), treeRoot(policyDomain));
    const transport = await SipTransport.listen(listenHost, listen.port, log.child('transport'));
    const transactions = new TransactionLayer(transport, `${hostText(advertise)}:${transport.port}`);
    const registrar = new Registrar({ maxExpiresS: 3600, defaultExpiresS: 3600, now: Date.now });
    const proxy = new SipProxy(transport, transactions, registrar, sessions, {
      address: { host: advertise, port: transport.port },
      domains,
      qos,
      unauthorized,
      dialogTimeoutMs,
    }, log);
    const sweep = setInterval(() => {
      proxy.expireDialogs();
      registrar.purge();
    }, 10_000);
    announce(logSettings, 'callqos-sip', `callqos SIP proxy ${id}: SIP on ${hostText(listenHost)}:${transport.port} (UDP, TCP) as ${advertise}, QoS ${qos}, session API over ${broker}`);
    return async () => {
      clearInterval(sweep);
      transactions.close();
      await transport.close();
      await bus.close();
    };
  });
}
