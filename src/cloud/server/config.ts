/**
 * The QoS control server's settings, from the command line (`callqos-cloud --help`) with the
 * embedded defaults: an in-process broker and a SQLite file, so that `npm start` needs nothing.
 */
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { TOPIC_ROOT, domainRoot } from '../../core/protocol/topics.ts';
import { hostBitsZero, parseIp, type IpAddress } from '../../core/net/ip.ts';
import { fail, ok } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';

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
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
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
  logLevel: 'info',
};

export const USAGE = `callqos-cloud: the QoS control server with its session API

  --id <id>                  this instance's id (default ${DEFAULT_CONFIG.serverId})
  --broker <url>             external broker, mqtt://host:port (default: an embedded broker)
  --mqtt-listen <host:port>  where the embedded broker listens (default ${DEFAULT_CONFIG.mqttHost}:${DEFAULT_CONFIG.mqttPort})
  --credentials <file>       logins the embedded broker checks (default: none; it then takes anyone)
  --broker-user <name>       this server's login at the broker (default: its id)
  --broker-password-file <f> file holding that login's password (never on the command line)
  --store <url>              sqlite:<file>, sqlite::memory: or postgres://... (default ${DEFAULT_CONFIG.storeUrl})
  --http <host:port|off>     session API over HTTP (default ${DEFAULT_CONFIG.httpHost}:${DEFAULT_CONFIG.httpPort})
  --share-group <name>       shared subscriptions for several instances (Mosquitto, EMQX)
  --deadline-ms <ms>         time for routers to report an install (default ${DEFAULT_CONFIG.decisionDeadlineMs})
  --offline <fail|wait>      a session on an offline router fails, or waits for it (default ${DEFAULT_CONFIG.offlinePolicy})
  --gate-lifetime-s <s>      router-side lifetime of a gate: how long it outlives a lost removal,
                             and the longest call it serves (default ${DEFAULT_CONFIG.gateLifetimeS})
  --accounting-s <s>         interim usage reports from routers (default ${DEFAULT_CONFIG.accountingS}: only at the end)
  --authorization <policy>   off, optional or required: the clearinghouse authorizes each call's QoS
                             (a token call control presents, or an auth.request) (default ${DEFAULT_CONFIG.authorization})
  --domain <id>              this server's policy domain, the audience of tokens (default: its id)
  --clearinghouse-keys <f>   the clearinghouse's public key set, to verify presented tokens
  --clearinghouse-timeout-ms <ms>  how long to wait for the clearinghouse (default ${DEFAULT_CONFIG.clearinghouseTimeoutMs})
  --peer <domain>=<server>@<prefix>[,<prefix>...]  another domain's policy server and the prefixes it
                             serves: a call's end there is installed by it, asked by this server (repeatable)
  --topic-tree <plain|domain>  plain: callqos/v1/... (this domain's own broker, or bridged brokers);
                             domain: <domain>/callqos/v1/... on a broker several domains share (the
                             domain's routers and call control are set to it too) (default ${DEFAULT_CONFIG.topicTree})
  --log-level <level>        debug, info, warn or error (default ${DEFAULT_CONFIG.logLevel})
`;

function hostPort(text: string, flag: string): Result<{ host: string; port: number }> {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) return fail({ code: 'E_ARGS', message: `${flag} wants host:port, got ${JSON.stringify(text)}`, path: flag });
  return ok({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
}

function integer(text: string, flag: string, min: number, max: number): Result<number> {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) return fail({ code: 'E_ARGS', message: `${flag} wants a whole number in ${min}..${max}, got ${JSON.stringify(text)}`, path: flag });
  return ok(n);
}

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

/** Parses `argv` (without node and the script); unknown flags and bad values are errors naming the flag. */
export function parseServerArgs(argv: readonly string[]): Result<ServerConfig> {
  const c: { -readonly [K in keyof ServerConfig]: ServerConfig[K] } = { ...DEFAULT_CONFIG };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) return fail({ code: 'E_ARGS', message: `${flag} needs a value`, path: flag });
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
      case '--http':
        if (value === 'off') c.httpPort = null;
        else problem = set(hostPort(value, flag), (v) => ((c.httpHost = v.host), (c.httpPort = v.port)));
        break;
      case '--share-group':
        if (!DEVICE_ID.test(value)) return fail({ code: 'E_ARGS', message: '--share-group must be letters, digits, . _ -', path: flag });
        c.shareGroup = value;
        break;
      case '--deadline-ms':
        problem = set(integer(value, flag, 50, 600_000), (v) => (c.decisionDeadlineMs = v));
        break;
      case '--offline':
        if (value !== 'fail' && value !== 'wait') return fail({ code: 'E_ARGS', message: '--offline is fail or wait', path: flag });
        c.offlinePolicy = value;
        break;
      case '--gate-lifetime-s':
        problem = set(integer(value, flag, 10, 86400), (v) => (c.gateLifetimeS = v));
        break;
      case '--accounting-s':
        problem = set(integer(value, flag, 0, 86400), (v) => (c.accountingS = v));
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
        problem = set(integer(value, flag, 10, 60_000), (v) => (c.clearinghouseTimeoutMs = v));
        break;
      case '--peer': {
        const peer = parsePeer(value);
        if (!peer.ok) return peer as Result<never>;
        c.peers = [...c.peers, peer.value];
        break;
      }
      case '--topic-tree':
        if (value !== 'plain' && value !== 'domain') return fail({ code: 'E_ARGS', message: '--topic-tree is plain or domain', path: flag });
        c.topicTree = value;
        break;
      case '--log-level':
        if (!['debug', 'info', 'warn', 'error'].includes(value)) return fail({ code: 'E_ARGS', message: '--log-level is debug, info, warn or error', path: flag });
        c.logLevel = value as ServerConfig['logLevel'];
        break;
      default:
        return fail({ code: 'E_ARGS', message: `unknown option ${flag} (see --help)`, path: flag });
    }
    if (problem) return problem as Result<never>;
  }
  return ok(c);
}

/** The tree this server's own devices and call control are in. */
export function ownRoot(config: ServerConfig): string {
  return config.topicTree === 'domain' ? domainRoot(config.domain ?? config.serverId) : TOPIC_ROOT;
}

/** The tree in which this server asks a peer's server: the peer domain's, on a shared broker. */
export function peerRoot(config: ServerConfig, peer: PeerConfig): string {
  return config.topicTree === 'domain' ? domainRoot(peer.domain) : TOPIC_ROOT;
}
