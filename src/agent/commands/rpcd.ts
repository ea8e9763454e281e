/**
 * `callqos-agent rpcd list | rpcd call <method>`: the backend of the rpcd exec plugin
 * /usr/libexec/rpcd/callqos, which gives LuCI and `ubus call callqos …` the agent's status.
 * Reads come from the files the daemon keeps in its state directory and from the kernel;
 * changes go to the daemon through its command FIFO. Prints exactly one JSON object.
 */
import type { AgentConfig } from '../../core/config/index.ts';
import { parseClassMap } from '../../core/dataplane/kernel-state.ts';
import { CLASS_MAPS, NFT_TABLE } from '../../core/dataplane/model.ts';
import { readSavedState } from '../../core/gates/state.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import { execute } from '../exec.ts';
import { loadConfig } from '../load-config.ts';
import { sendLocalCommand } from './local-client.ts';

/** Method signatures as rpcd's `list` wants them: argument names with an example of their type. */
export const RPCD_SIGNATURES = {
  status: {},
  gates: {},
  interfaces: {},
  stats: {},
  gate_add: { gate: {} },
  gate_remove: { id: 'str' },
  reload: {},
} as const;

type Method = keyof typeof RPCD_SIGNATURES;
type Json = Record<string, unknown>;

const error = (code: string, message: string): Json => ({ error: code, message });

function readJsonFile(host: Host, path: string): unknown {
  const text = host.files.readText(path);
  if (!text.ok) return null;
  const parsed = parseStrictJson(text.value);
  return parsed.ok ? parsed.value : null;
}

function gatesOf(host: Host, config: AgentConfig): Json {
  const state = readSavedState(host.files, `${config.agent.stateDir}/state.json`);
  const now = host.clock.monotonicMs();
  return {
    gates: state.gates.map(({ gate, source, expiresAtMs }) => ({
      ...gate,
      source,
      expiresInS: expiresAtMs === null ? null : Math.max(0, Math.round((expiresAtMs - now) / 1000)),
    })),
  };
}

/** Per-gate and per-class counters from the kernel's maps, and the queues' statistics from tc. */
async function statsOf(host: Host, config: AgentConfig): Promise<Json> {
  const gates: Json[] = [];
  const classes: Record<string, { packets: number; bytes: number }> = {};
  const dscpOf = new Map<string, number>();
  for (const g of (gatesOf(host, config).gates as Array<{ id: string; dscp: number }>)) dscpOf.set(g.id, g.dscp);
  for (const { name: map, way } of CLASS_MAPS) {
    const listed = await execute(host, ['nft', '-j', 'list', 'map', 'inet', NFT_TABLE, map]);
    const elements = listed.status.code === 0 ? parseClassMap(listed.stdout.join('\n'), way) : null;
    for (const e of elements?.ok ? elements.value : []) {
      gates.push({ id: e.gateId, way, packets: e.packets, bytes: e.bytes });
      const name = String(dscpOf.get(e.gateId ?? '') ?? 'unknown');
      const sum = (classes[name] ??= { packets: 0, bytes: 0 });
      sum.packets += e.packets;
      sum.bytes += e.bytes;
    }
  }
  const queues: Json = {};
  // The devices the daemon shaped, as it recorded them in its status.
  const status = readJsonFile(host, `${config.agent.stateDir}/status.json`) as { devices?: Record<string, unknown> } | null;
  const shaped = status?.devices ? [status.devices.wanDevice, status.devices.lanDevice] : [config.qos.wanDevice, config.qos.lanDevice];
  for (const device of shaped) {
    if (typeof device !== 'string' || device in queues || !/^[A-Za-z0-9_.+-]{1,15}$/.test(device)) continue;
    const shown = await execute(host, ['tc', '-s', '-j', 'qdisc', 'show', 'dev', device]);
    const parsed = shown.status.code === 0 ? parseStrictJson(shown.stdout.join('\n')) : null;
    queues[device] = parsed?.ok ? parsed.value : null;
  }
  return { gates, classesByDscp: classes, queues };
}

/** The read methods' answers, as the fleet's remote commands of the same names return them. */
export function readMethod(host: Host, config: AgentConfig, method: 'status' | 'gates' | 'interfaces' | 'stats'): Promise<Json> {
  return call(host, config, method, {});
}

async function call(host: Host, config: AgentConfig, method: Method, input: Json): Promise<Json> {
  const stateDir = config.agent.stateDir;
  switch (method) {
    case 'status': {
      const status = readJsonFile(host, `${stateDir}/status.json`);
      return { running: host.files.exists(`${stateDir}/cmd`) && status !== null, ...(status as Json | null) };
    }
    case 'gates':
      return gatesOf(host, config);
    case 'interfaces':
      return (readJsonFile(host, `${stateDir}/interfaces.json`) as Json | null) ?? { interfaces: [] };
    case 'stats':
      return statsOf(host, config);
    case 'gate_add':
    case 'gate_remove':
    case 'reload': {
      const command =
        method === 'gate_add'
          ? { cmd: method, gate: { lifetimeS: config.qos.gateLifetimeS, ...(input.gate as Json) } }
          : method === 'gate_remove'
            ? { cmd: method, id: input.id }
            : { cmd: method };
      const answer = await sendLocalCommand(host, stateDir, command);
      return answer.ok ? { ok: true, result: answer.value as Json } : error(answer.error.code, answer.error.message);
    }
  }
}

export async function rpcdCommand(host: Host, log: Logger, args: readonly string[], configPath: string): Promise<number> {
  const [action, method] = args;
  if (action === 'list') {
    host.writeOut(JSON.stringify(RPCD_SIGNATURES) + '\n');
    return 0;
  }
  if (action !== 'call' || method === undefined || !Object.prototype.hasOwnProperty.call(RPCD_SIGNATURES, method)) {
    host.writeOut(JSON.stringify(error('E_METHOD', `usage: rpcd list | rpcd call <${Object.keys(RPCD_SIGNATURES).join('|')}>`)) + '\n');
    return 2;
  }
  const stdin = host.readStdin().trim();
  const input = stdin === '' ? { ok: true as const, value: {} } : parseStrictJson(stdin);
  if (!input.ok || typeof input.value !== 'object' || input.value === null || Array.isArray(input.value)) {
    host.writeOut(JSON.stringify(error('E_JSON', 'the arguments are not a JSON object')) + '\n');
    return 0;
  }
  const config = loadConfig(host, log, configPath);
  if (config === null) {
    host.writeOut(JSON.stringify(error('E_CONFIG', `cannot read ${configPath}`)) + '\n');
    return 0;
  }
  host.writeOut(JSON.stringify(await call(host, config, method as Method, input.value as Json)) + '\n');
  return 0;
}
