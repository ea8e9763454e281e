/**
 * The agent's own config, /etc/config/callqos, as one typed and validated AgentConfig
 * (STYLE.md point 8). Three section types:
 *
 *   config agent 'agent'   the process: on/off, device id, log level, state directory
 *   config qos 'qos'       the line and the data plane (DESIGN.md section 3); rates are required
 *   config gate            static gates for phones that need EF without a call server
 *   config cloud 'cloud'   the MQTT link to the QoS control server
 *
 * Syntax errors and a missing or bad line rate fail; everything else is a warning and a skipped
 * section or a default, so one typo does not take voice QoS down.
 */
import { LOG_LEVELS, type LogLevel } from '../log.ts';
import { ipFamily } from '../net/ip.ts';
import { ok, type Result } from '../result.ts';
import { DEVICE_ID } from '../protocol/fields.ts';
import { ENROLMENT_KEY } from '../protocol/messages/enrol.ts';
import { parseUci } from '../uci/parse.ts';
import { showText } from '../uci/show.ts';
import { applySpec, multiple, option, singleton, type SectionMeta, type ValuesOf } from './spec.ts';
import * as t from './types.ts';

export const QUEUE_BACKENDS = ['auto', 'htb', 'cake', 'none'] as const;
export type QueueBackend = (typeof QUEUE_BACKENDS)[number];
/** The protocol's gate directions: `up` is LAN host to remote, `down` the reverse. */
export const GATE_DIRECTIONS = ['both', 'up', 'down'] as const;
export type GateDirection = (typeof GATE_DIRECTIONS)[number];
/** Gate ids: a subset of the protocol's, starting with a letter or digit. */
export const GATE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const DEFAULT_MARK_MASK = 0x003f0000;

const agentOptions = {
  enabled: option(t.bool, { default: true }),
  // Absent means the board's hostname, which only the host knows.
  device_id: option(t.deviceId),
  log_level: option(t.oneOf(LOG_LEVELS), { default: 'info' }),
  state_dir: option(t.text(/^\/[^\x00-\x1f]*$/, 'an absolute path'), { default: '/var/run/callqos' }),
};

const qosOptions = {
  wan_interface: option(t.ifname, { default: 'wan' }),
  lan_interface: option(t.ifname, { default: 'lan' }),
  uplink_kbit: option(t.uint(64, 10_000_000), { required: true }),
  downlink_kbit: option(t.uint(64, 10_000_000), { required: true }),
  ef_budget_percent: option(t.uint(1, 90), { default: 30 }),
  queue_backend: option(t.oneOf(QUEUE_BACKENDS), { default: 'auto' }),
  police_margin_percent: option(t.uint(0, 100), { default: 10 }),
  wash_unadmitted_ef: option(t.bool, { default: true }),
  // The conntrack mark bits that hold the class: enough for a DSCP, and no more than a byte so
  // that other packages' mark bits survive (DESIGN.md section 3).
  mark_mask: option(t.bitmask(6, 8), { default: DEFAULT_MARK_MASK }),
  wifi_ef_to_voice: option(t.bool, { default: true }),
  // Linux devices to shape; by default the l3_device ubus reports for wan_interface/lan_interface.
  wan_device: option(t.ifname),
  lan_device: option(t.ifname),
  // Lifetime of a gate added through the local interface without one.
  gate_lifetime_s: option(t.uint(10, 86_400), { default: 3600 }),
};

const absolutePath = t.text(/^\/[^\x00-\x1f]*$/, 'an absolute path');

const cloudOptions = {
  enabled: option(t.bool, { default: false }),
  broker: option(t.text(/^[A-Za-z0-9.:-]{1,253}$/, 'a host name or address')),
  port: option(t.port, { default: 8883 }),
  tls: option(t.bool, { default: true }),
  ca_file: option(absolutePath),
  cert_file: option(absolutePath),
  key_file: option(absolutePath),
  username: option(t.text(/^[^\x00-\x1f]{1,128}$/, 'a user name')),
  // A file, not the password itself: the MQTT clients read it, so it never shows in `ps`.
  password_file: option(absolutePath),
  keepalive_s: option(t.uint(5, 3600), { default: 30 }),
  // On a broker several policy domains share: this router's domain, whose tree its topics are in.
  domain: option(t.text(DEVICE_ID, 'a policy domain id ([A-Za-z0-9][A-Za-z0-9_.-], 1..64 characters)')),
  // Zero-touch enrolment: with this key and no login of its own (username/password_file unset),
  // the router asks the server for one and keeps it in credentials_dir (src/agent/fleet/).
  enrol_key: option(t.text(ENROLMENT_KEY, 'an enrolment key (<id>.<secret>)')),
  credentials_dir: option(absolutePath, { default: '/etc/callqos' }),
};

const gateOptions = {
  id: option(t.text(GATE_ID, 'a gate id ([A-Za-z0-9][A-Za-z0-9_.:-], 1..64 characters)')),
  lan_address: option(t.ipaddr({ host: true }), { required: true }),
  lan_port: option(t.port, { required: true }),
  remote_address: option(t.ipaddr({ host: true })),
  remote_port: option(t.port),
  direction: option(t.oneOf(GATE_DIRECTIONS), { default: 'both' }),
  dscp: option(t.dscp(), { default: 46 }),
  rate_kbit: option(t.uint(1, 100_000), { required: true }),
  enabled: option(t.bool, { default: true }),
};

type GateValues = ValuesOf<typeof gateOptions>;

/**
 * An anonymous section has no name to default the id to; its position among gate sections
 * stands in (`gate-0`), which no named section can collide with (UCI names have no `-`).
 */
function gateId(g: GateValues, section: SectionMeta): string {
  return g.id ?? (section.anonymous ? `gate-${section.index}` : section.name);
}

function checkGate(g: GateValues, section: SectionMeta): string | undefined {
  if (!GATE_ID.test(gateId(g, section))) return `the section name is not a valid gate id, set option 'id'`;
  if (g.remote_address === undefined) return undefined;
  const lan = ipFamily(g.lan_address);
  const remote = ipFamily(g.remote_address);
  return lan === remote ? undefined : `remote_address is IPv${remote} but lan_address is IPv${lan}`;
}

export const AGENT_SPEC = {
  agent: singleton(agentOptions),
  qos: singleton(qosOptions),
  cloud: singleton(cloudOptions),
  gate: multiple(gateOptions, {
    check: checkGate,
    // A disabled gate claims no id: it can be kept beside its replacement.
    unique: { what: 'gate id', key: (g, section) => (g.enabled ? gateId(g, section) : undefined) },
  }),
};

export interface StaticGate {
  readonly id: string;
  readonly lan: { readonly address: string; readonly port: number };
  /** null is a wildcard: any remote address or port. */
  readonly remote: { readonly address: string | null; readonly port: number | null };
  readonly direction: GateDirection;
  /** The DSCP number: 46 (EF), 34 (AF41) or 40 (CS5). */
  readonly dscp: number;
  readonly rateKbit: number;
}

export interface AgentConfig {
  readonly agent: {
    readonly enabled: boolean;
    /** Undefined: use the board's hostname. */
    readonly deviceId?: string;
    readonly logLevel: LogLevel;
    readonly stateDir: string;
  };
  readonly qos: {
    readonly wanInterface: string;
    readonly lanInterface: string;
    readonly uplinkKbit: number;
    readonly downlinkKbit: number;
    readonly efBudgetPercent: number;
    readonly queueBackend: QueueBackend;
    readonly policeMarginPercent: number;
    readonly washUnadmittedEf: boolean;
    /** A contiguous run of 6..8 bits of the 32-bit conntrack mark. */
    readonly markMask: number;
    readonly wifiEfToVoice: boolean;
    /** Overrides of the devices ubus reports for the WAN and LAN interfaces. */
    readonly wanDevice?: string;
    readonly lanDevice?: string;
    readonly gateLifetimeS: number;
  };
  readonly cloud: {
    readonly enabled: boolean;
    readonly broker?: string;
    readonly port: number;
    readonly tls: boolean;
    readonly caFile?: string;
    readonly certFile?: string;
    readonly keyFile?: string;
    readonly username?: string;
    readonly passwordFile?: string;
    readonly keepaliveS: number;
    /** Set on a broker several policy domains share: the topics are under `<domain>/callqos/v1`. */
    readonly domain?: string;
    /** The enrolment key, used only while the router has no login of its own. */
    readonly enrolKey?: string;
    /** Where the login enrolment gave is kept (credentials.json, password). */
    readonly credentialsDir: string;
  };
  /** Enabled static gates only, ids unique. */
  readonly gates: readonly StaticGate[];
}

export const AGENT_PACKAGE = 'callqos';

export function parseAgentConfig(text: string): Result<{ config: AgentConfig; warnings: string[] }> {
  const parsed = parseUci(text);
  if (!parsed.ok) return parsed;
  const warnings: string[] = [];
  const pkg = parsed.value.package;
  if (pkg !== undefined && pkg !== AGENT_PACKAGE) warnings.push(`package ${showText(pkg)} is not ${AGENT_PACKAGE}; read anyway`);
  const applied = applySpec(parsed.value.sections, AGENT_SPEC);
  if (!applied.ok) return applied;
  warnings.push(...applied.value.warnings);
  const { agent, qos, cloud, gate } = applied.value.values;
  const defined = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  const config: AgentConfig = {
    agent: {
      enabled: agent.enabled,
      ...defined('deviceId', agent.device_id),
      logLevel: agent.log_level,
      stateDir: agent.state_dir,
    },
    qos: {
      wanInterface: qos.wan_interface,
      lanInterface: qos.lan_interface,
      uplinkKbit: qos.uplink_kbit,
      downlinkKbit: qos.downlink_kbit,
      efBudgetPercent: qos.ef_budget_percent,
      queueBackend: qos.queue_backend,
      policeMarginPercent: qos.police_margin_percent,
      washUnadmittedEf: qos.wash_unadmitted_ef,
      markMask: qos.mark_mask,
      wifiEfToVoice: qos.wifi_ef_to_voice,
      ...defined('wanDevice', qos.wan_device),
      ...defined('lanDevice', qos.lan_device),
      gateLifetimeS: qos.gate_lifetime_s,
    },
    cloud: {
      enabled: cloud.enabled,
      ...defined('broker', cloud.broker),
      port: cloud.port,
      tls: cloud.tls,
      ...defined('caFile', cloud.ca_file),
      ...defined('certFile', cloud.cert_file),
      ...defined('keyFile', cloud.key_file),
      ...defined('username', cloud.username),
      ...defined('passwordFile', cloud.password_file),
      keepaliveS: cloud.keepalive_s,
      ...defined('domain', cloud.domain),
      ...defined('enrolKey', cloud.enrol_key),
      credentialsDir: cloud.credentials_dir,
    },
    gates: gate
      .filter((entry) => entry.values.enabled)
      .map(({ values: g, ...section }) => ({
        id: gateId(g, section),
        lan: { address: g.lan_address, port: g.lan_port },
        remote: { address: g.remote_address ?? null, port: g.remote_port ?? null },
        direction: g.direction,
        dscp: g.dscp,
        rateKbit: g.rate_kbit,
      })),
  };
  return ok({ config, warnings });
}
