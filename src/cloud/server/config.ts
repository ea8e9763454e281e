/**
 * The QoS control server's settings, from the command line (`callqos-cloud --help`) with the
 * embedded defaults: an in-process broker and a SQLite file, so that `npm start` needs nothing.
 */
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { TOPIC_ROOT, domainRoot } from '../../core/protocol/topics.ts';
import { hostBitsZero, parseIp, type IpAddress } from '../../core/net/ip.ts';
import { fail, ok } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';
import { addRoutedScope, parseRoutedScope, type RoutedScope } from '../../core/control/routed-scope.ts';
import type { LogFormat, LogLevel } from '../../core/log.ts';
import { hostPort, parseCommand, usageOf, wholeNumber, type CommandSpec, type OptionSpec } from '../cli/args.ts';
import { DEFAULT_LOG_SETTINGS, LOG_OPTIONS, parseLogFormat, parseLogLevel } from '../cli/logging.ts';

export type OfflinePolicy = 'fail' | 'wait';

/** Another policy domain's server, and the address prefixes whose phones are its to serve (seed 000 claim 7). */
export interface PeerConfig {
  readonly domain: string;
  readonly serverId: string;
  readonly prefixes: readonly { readonly address: IpAddress; readonly length: number }[];
}

export interface ServerConfig {
  /** This instance's id: the sender of its messages. */
  readonly serverId: string;
  /** `mqtt://host:port` of an external broker, or null for the embedded one. */
  readonly brokerUrl: string | null;
  /** Where the embedded broker listens. */
  readonly mqttHost: string;
  readonly mqttPort: number;
  /** The logins the embedded broker checks (see `callqos-cloud credentials`); null: anyone (development). */
  readonly credentialsFile: string | null;
  /** This server's own login at the broker: user (default: its id) and a file holding the password. */
  readonly brokerUser: string | null;
  readonly brokerPasswordFile: string | null;
  /** `sqlite:<file>`, `sqlite::memory:` or `postgres://…`. */
  readonly storeUrl: string;
  /** The clearinghouse's CDR store, for the dashboard's Clearinghouse page (read only); null: not shown. */
  readonly clearinghouseStoreUrl: string | null;
  readonly httpHost: string;
  /** null: no HTTP session API; 0: any free port. */
  readonly httpPort: number | null;
  /** Shared-subscription group for several instances on one broker (Mosquitto, EMQX); null on aedes. */
  readonly shareGroup: string | null;
  /** How long a session may wait for every router's install report before it fails and rolls back. */
  readonly decisionDeadlineMs: number;
  /** How long a removal may wait for its report before the session counts as ended anyway. */
  readonly removalDeadlineMs: number;
  /** A session on a router that is offline: refuse it (`fail`), or keep it pending until the router is back (`wait`). */
  readonly offlinePolicy: OfflinePolicy;
  /** Lifetime of an installed gate on the router: a safety net for a removal that is lost; refreshed while the call lasts. */
  readonly gateLifetimeS: number;
  readonly maxKeepaliveS: number;
  readonly accountingS: number;
  /**
   * Authorization by the clearinghouse before admission: `off`; `required` (a line gets QoS only
   * with a valid token or the clearinghouse's yes); `optional` (as required, but a clearinghouse
   * that does not answer lets the call have QoS unauthorized).
   */
  readonly authorization: 'off' | 'optional' | 'required';
  /** This server's policy domain: the audience of tokens (default: the server id). */
  readonly domain: string | null;
  /** The clearinghouse's public key set, to verify tokens call control presents. */
  readonly clearinghouseKeysFile: string | null;
  readonly clearinghouseTimeoutMs: number;
  /** Other domains' servers: a call end in one of their prefixes is installed by that server, asked by this one. */
  readonly peers: readonly PeerConfig[];
  /**
   * Where this server's devices and call control are on the broker: `plain` (`callqos/v1/...`: a
   * broker of this domain's own, or bridged to its peers'), or `domain` (`<domain>/callqos/v1/...`:
   * a broker several domains share, each domain's routers and call control configured with their
   * domain; its peers' servers are then in their domains' trees).
   */
  readonly topicTree: 'plain' | 'domain';
  /**
   * Private address space routed without NAT and unique among this server's routers (a company's
   * VPN or MPLS): located by longest prefix over what the routers report (core/control/routed-scope.ts).
   */
  readonly routedScopes: readonly RoutedScope[];
  /**
   * Where routers' own broker logins are made when they enrol (docs/fleet.md): `off` (no
   * enrolment; logins by hand), `embedded` (the embedded broker's credentials file, --credentials),
   * `dynsec` (Mosquitto's dynamic-security plugin on --broker, as the admin in --dynsec-login).
   */
  readonly identities: 'off' | 'embedded' | 'dynsec';
  /** A file holding `user:password` of the dynamic-security admin (mode 0600 or stricter). */
  readonly dynsecLoginFile: string | null;
  /** What a router waiting for approval is told to wait before asking again. */
  readonly enrolRetryS: number;
  readonly logLevel: LogLevel;
  /** text (`level: message key=value`) or json (one object per line). */
  readonly logFormat: LogFormat;
}

export const DEFAULT_CONFIG: ServerConfig = {
  serverId: 'qos-server-1',
  brokerUrl: null,
  mqttHost: '127.0.0.1',
  mqttPort: 1884,
  credentialsFile: null,
  brokerUser: null,
  brokerPasswordFile: null,
  storeUrl: 'sqlite:data/callqos.db',
  clearinghouseStoreUrl: null,
  httpHost: '127.0.0.1',
  httpPort: 8080,
  shareGroup: null,
  decisionDeadlineMs: 2000,
  removalDeadlineMs: 5000,
  offlinePolicy: 'fail',
  gateLifetimeS: 3600,
  maxKeepaliveS: 60,
  accountingS: 0,
  authorization: 'off',
  domain: null,
  clearinghouseKeysFile: null,
  clearinghouseTimeoutMs: 1000,
  peers: [],
  topicTree: 'plain',
  routedScopes: [],
  identities: 'off',
  dynsecLoginFile: null,
  enrolRetryS: 5,
  logLevel: DEFAULT_LOG_SETTINGS.level,
  logFormat: DEFAULT_LOG_SETTINGS.format,
};

/**
 * The server's options, in the order `--help` lists them; `parseServerArgs` below applies each
 * (one `case` per option).
 */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { name: 'id', value: '<id>', help: `this instance's id (default ${DEFAULT_CONFIG.serverId})` },
  { name: 'broker', value: '<url>', help: 'external broker, mqtt://host:port (default: an embedded broker)' },
  { name: 'mqtt-listen', value: '<host:port>', help: `where the embedded broker listens (default ${DEFAULT_CONFIG.mqttHost}:${DEFAULT_CONFIG.mqttPort})` },
  { name: 'credentials', value: '<file>', help: "logins the embedded broker checks (default: none; it then takes anyone);\nthis server gets one of its own for the run unless the file has its login" },
  { name: 'broker-user', value: '<name>', help: "this server's login at the broker (default: its id)" },
  { name: 'broker-password-file', value: '<f>', help: "file holding that login's password (never on the command line)" },
  { name: 'store', value: '<url>', help: `sqlite:<file>, sqlite::memory: or postgres://... (default ${DEFAULT_CONFIG.storeUrl})` },
  { name: 'clearinghouse-store', value: '<url>', help: "the clearinghouse's CDR store, read for the dashboard's usage and settlement\n(the URL the clearinghouse runs with; default: none)" },
  { name: 'http', value: '<host:port|off>', help: `session API over HTTP (default ${DEFAULT_CONFIG.httpHost}:${DEFAULT_CONFIG.httpPort})` },
  { name: 'share-group', value: '<name>', help: 'shared subscriptions for several instances (Mosquitto, EMQX)' },
  { name: 'deadline-ms', value: '<ms>', help: `time for routers to report an install (default ${DEFAULT_CONFIG.decisionDeadlineMs})` },
  { name: 'offline', value: '<fail|wait>', help: `a session on an offline router fails, or waits for it (default ${DEFAULT_CONFIG.offlinePolicy})` },
  { name: 'gate-lifetime-s', value: '<s>', help: `router-side lifetime of a gate: how long it outlives a lost removal,\nand the longest call it serves (default ${DEFAULT_CONFIG.gateLifetimeS})` },
  { name: 'accounting-s', value: '<s>', help: `interim usage reports from routers (default ${DEFAULT_CONFIG.accountingS}: only at the end)` },
  { name: 'authorization', value: '<policy>', help: `off, optional or required: the clearinghouse authorizes each call's QoS\n(a token call control presents, or an auth.request) (default ${DEFAULT_CONFIG.authorization})` },
  { name: 'domain', value: '<id>', help: "this server's policy domain, the audience of tokens (default: its id)" },
  { name: 'clearinghouse-keys', value: '<f>', help: "the clearinghouse's public key set, to verify presented tokens" },
  { name: 'clearinghouse-timeout-ms', value: '<ms>', help: `how long to wait for the clearinghouse (default ${DEFAULT_CONFIG.clearinghouseTimeoutMs})` },
  { name: 'peer', value: '<domain>=<server>@<prefix>[,<prefix>...]', help: "another domain's policy server and the prefixes it serves: a call's end\nthere is installed by it, asked by this server (repeatable)" },
  { name: 'topic-tree', value: '<plain|domain>', help: `plain: callqos/v1/... (this domain's own broker, or bridged brokers);\ndomain: <domain>/callqos/v1/... on a broker several domains share (the\ndomain's routers and call control are set to it too) (default ${DEFAULT_CONFIG.topicTree})` },
  { name: 'routed-scope', value: '<name>=<prefix>[,<prefix>...][@<device>[,...]]', help: 'private prefixes routed without NAT and unique among the routers\n(all of this server\'s, or the devices named; a trailing * matches any\nrest): located by longest prefix whatever the signalling source (repeatable)' },
  { name: 'identities', value: '<off|embedded|dynsec>', help: `routers enrol with a key and get a broker login of their own, made in the\nembedded broker's --credentials file or in Mosquitto's dynamic security\n(default ${DEFAULT_CONFIG.identities}: no enrolment)` },
  { name: 'dynsec-login', value: '<file>', help: 'with --identities dynsec: file (mode 0600) holding the dynamic-security\nadmin login as user:password' },
  { name: 'enrol-retry-s', value: '<s>', help: `how long a router waiting for approval waits before asking again\n(default ${DEFAULT_CONFIG.enrolRetryS})` },
  ...LOG_OPTIONS,
];

/** The server is the program's default command: `callqos-cloud [options]`. */
export const SERVER_COMMAND: CommandSpec = {
  name: 'callqos-cloud',
  summary: 'The QoS control server with its session API; without --broker it runs an embedded MQTT broker too.',
  options: SERVER_OPTIONS,
};

/** The server's own help (main.ts adds the commands for `callqos-cloud --help`). */
export const USAGE = usageOf(SERVER_COMMAND);

/** `domain-b=qos-b@198.18.20.0/24,2001:db8:b::/48` */
export function parsePeer(text: string): Result<PeerConfig> {
  const bad = (why: string) => fail({ code: 'E_ARGS', message: `--peer ${JSON.stringify(text)}: ${why} (want <domain>=<server>@<prefix>[,<prefix>...])`, path: '--peer' });
  const m = /^([^=@]+)=([^=@]+)@(.+)$/.exec(text);
  if (!m || !DEVICE_ID.test(m[1]!) || !DEVICE_ID.test(m[2]!)) return bad('not domain=server@prefixes with valid ids');
  const prefixes: { address: IpAddress; length: number }[] = [];
  for (const p of m[3]!.split(',')) {
    const [addr, len] = p.split('/');
    const address = parseIp(addr ?? '');
    const length = Number(len);
    if (!address.ok || !/^\d{1,3}$/.test(len ?? '') || length > (address.value.family === 4 ? 32 : 128)) return bad(`${JSON.stringify(p)} is not a prefix`);
    if (!hostBitsZero(address.value.bytes, length)) return bad(`${JSON.stringify(p)} has host bits set`);
    prefixes.push({ address: address.value, length });
  }
  return ok({ domain: m[1]!, serverId: m[2]!, prefixes });
}

/**
 * Parses `argv` (without node and the script); unknown flags and bad values are errors naming the
 * flag. `--help` is the caller's to see first (see main.ts).
 */
export function parseServerArgs(argv: readonly string[]): Result<ServerConfig> {
  const parsed = parseCommand(SERVER_COMMAND, argv);
  if (!parsed.ok) return parsed;
  const c: { -readonly [K in keyof ServerConfig]: ServerConfig[K] } = { ...DEFAULT_CONFIG };
  for (const { flag, value: given } of parsed.value.options) {
    // Every server option takes a value (the parser checked that it has one).
    const value = String(given);
    const set = <T>(r: Result<T>, apply: (v: T) => void): Result<void> | null => {
      if (!r.ok) return r;
      apply(r.value);
      return null;
    };
    let problem: Result<void> | null = null;
    switch (flag) {
      case '--id':
        if (!DEVICE_ID.test(value)) return fail({ code: 'E_ARGS', message: '--id must be letters, digits, . _ - (up to 64)', path: flag });
        c.serverId = value;
        break;
      case '--broker':
        if (!/^mqtts?:\/\/[^\s]+$/.test(value)) return fail({ code: 'E_ARGS', message: '--broker wants mqtt://host:port or mqtts://host:port', path: flag });
        c.brokerUrl = value;
        break;
      case '--mqtt-listen':
        problem = set(hostPort(value, flag), (v) => ((c.mqttHost = v.host), (c.mqttPort = v.port)));
        break;
      case '--credentials':
        c.credentialsFile = value;
        break;
      case '--broker-user':
        if (!DEVICE_ID.test(value)) return fail({ code: 'E_ARGS', message: '--broker-user must be letters, digits, . _ -', path: flag });
        c.brokerUser = value;
        break;
      case '--broker-password-file':
        c.brokerPasswordFile = value;
        break;
      case '--store':
        if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(value)) return fail({ code: 'E_ARGS', message: '--store wants sqlite:<file>, sqlite::memory: or postgres://...', path: flag });
        c.storeUrl = value;
        break;
      case '--clearinghouse-store':
        if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(value)) return fail({ code: 'E_ARGS', message: '--clearinghouse-store wants sqlite:<file> or postgres://...', path: flag });
        c.clearinghouseStoreUrl = value;
        break;
      case '--http':
        if (value === 'off') c.httpPort = null;
        else problem = set(hostPort(value, flag), (v) => ((c.httpHost = v.host), (c.httpPort = v.port)));
        break;
      case '--share-group':
        if (!DEVICE_ID.test(value)) return fail({ code: 'E_ARGS', message: '--share-group must be letters, digits, . _ -', path: flag });
        c.shareGroup = value;
        break;
      case '--deadline-ms':
        problem = set(wholeNumber(value, flag, 50, 600_000), (v) => (c.decisionDeadlineMs = v));
        break;
      case '--offline':
        if (value !== 'fail' && value !== 'wait') return fail({ code: 'E_ARGS', message: '--offline is fail or wait', path: flag });
        c.offlinePolicy = value;
        break;
      case '--gate-lifetime-s':
        problem = set(wholeNumber(value, flag, 10, 86400), (v) => (c.gateLifetimeS = v));
        break;
      case '--accounting-s':
        problem = set(wholeNumber(value, flag, 0, 86400), (v) => (c.accountingS = v));
        break;
      case '--authorization':
        if (value !== 'off' && value !== 'optional' && value !== 'required') return fail({ code: 'E_ARGS', message: '--authorization is off, optional or required', path: flag });
        c.authorization = value;
        break;
      case '--domain':
        if (!DEVICE_ID.test(value)) return fail({ code: 'E_ARGS', message: '--domain must be letters, digits, . _ - (up to 64)', path: flag });
        c.domain = value;
        break;
      case '--clearinghouse-keys':
        c.clearinghouseKeysFile = value;
        break;
      case '--clearinghouse-timeout-ms':
        problem = set(wholeNumber(value, flag, 10, 60_000), (v) => (c.clearinghouseTimeoutMs = v));
        break;
      case '--peer': {
        const peer = parsePeer(value);
        if (!peer.ok) return peer as Result<never>;
        c.peers = [...c.peers, peer.value];
        break;
      }
      case '--routed-scope': {
        const parsed = parseRoutedScope(value);
        const added = parsed.ok ? addRoutedScope(c.routedScopes, parsed.value) : parsed;
        if (!added.ok) return fail({ code: 'E_ARGS', message: `--routed-scope: ${added.error.message}`, path: flag });
        c.routedScopes = added.value;
        break;
      }
      case '--topic-tree':
        if (value !== 'plain' && value !== 'domain') return fail({ code: 'E_ARGS', message: '--topic-tree is plain or domain', path: flag });
        c.topicTree = value;
        break;
      case '--identities':
        if (value !== 'off' && value !== 'embedded' && value !== 'dynsec') return fail({ code: 'E_ARGS', message: '--identities is off, embedded or dynsec', path: flag });
        c.identities = value;
        break;
      case '--dynsec-login':
        c.dynsecLoginFile = value;
        break;
      case '--enrol-retry-s':
        problem = set(wholeNumber(value, flag, 1, 3600), (v) => (c.enrolRetryS = v));
        break;
      case '--log-level':
        problem = set(parseLogLevel(value), (v) => (c.logLevel = v));
        break;
      case '--log-format':
        problem = set(parseLogFormat(value), (v) => (c.logFormat = v));
        break;
      default:
        return fail({ code: 'E_ARGS', message: `unknown option ${flag} (see --help)`, path: flag });
    }
    if (problem) return problem as Result<never>;
  }
  const identities = checkIdentities(c);
  return identities.ok ? ok(c) : identities;
}

/** The identities chosen fit the broker: embedded logins need the embedded broker's file, dynsec a Mosquitto. */
function checkIdentities(c: ServerConfig): Result<void> {
  const bad = (message: string, path: string): Result<never> => fail({ code: 'E_ARGS', message, path });
  if (c.identities === 'embedded') {
    if (c.brokerUrl !== null) return bad('--identities embedded makes logins in the embedded broker; with --broker use --identities dynsec', '--identities');
    if (c.credentialsFile === null) return bad('--identities embedded needs --credentials <file>, where the routers\' logins are kept', '--credentials');
  }
  if (c.identities === 'dynsec') {
    if (c.brokerUrl === null) return bad('--identities dynsec needs --broker (a Mosquitto with the dynamic-security plugin)', '--broker');
    if (c.dynsecLoginFile === null) return bad('--identities dynsec needs --dynsec-login <file> (user:password of the dynamic-security admin)', '--dynsec-login');
  }
  if (c.dynsecLoginFile !== null && c.identities !== 'dynsec') return bad('--dynsec-login is for --identities dynsec', '--dynsec-login');
  return ok(undefined);
}

/** The tree this server's own devices and call control are in. */
export function ownRoot(config: ServerConfig): string {
  return config.topicTree === 'domain' ? domainRoot(config.domain ?? config.serverId) : TOPIC_ROOT;
}

/** The tree in which this server asks a peer's server: the peer domain's, on a shared broker. */
export function peerRoot(config: ServerConfig, peer: PeerConfig): string {
  return config.topicTree === 'domain' ? domainRoot(peer.domain) : TOPIC_ROOT;
}
