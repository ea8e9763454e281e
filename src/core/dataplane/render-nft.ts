/**
 * Renders the desired data plane as one nft batch that creates the agent's own table from
 * scratch (`nft -f` applies it as one transaction). Layout of `table inet callqos`:
 *
 *   maps up_v4, down_v4, up_v6, down_v6   gate 5-tuple (LAN address . LAN port . remote address .
 *                                         remote port) -> goto the gate's class chain. Interval
 *                                         maps, so a wildcard remote is 0.0.0.0/0 (or ::/0) and
 *                                         0-65535; per-element timeout (a lost removal expires) and
 *                                         counters (usage per gate and direction).
 *   chain forward                         hook forward, mangle priority: there both directions
 *                                         carry the LAN host's real address (after DNAT coming in,
 *                                         before SNAT going out). Washes unadmitted EF, then
 *                                         classifies up (LAN source) and down (LAN destination).
 *   chains mark_<class>_v4/_v6            set the DSCP and the class in the masked conntrack bits.
 */
import { fail, ok } from '../result.ts';
import type { CoreError, Result } from '../result.ts';
import { GATE_CLASSES, NFT_TABLE } from './model.ts';
import type { DataplaneGate, DataplaneSettings } from './model.ts';
import { nftAddress, nftComment, nftHex32, nftPort, nftSeconds } from './nft-values.ts';

type Family = 'v4' | 'v6';
type Way = 'up' | 'down';

const FAMILIES: readonly Family[] = ['v4', 'v6'];
const WAYS: readonly Way[] = ['up', 'down'];
const IP_KEYWORD: Record<Family, string> = { v4: 'ip', v6: 'ip6' };
const ANY_ADDRESS: Record<Family, string> = { v4: '0.0.0.0/0', v6: '::/0' };

interface Element {
  readonly family: Family;
  readonly ways: readonly Way[];
  readonly text: string;
}

function gateError(gate: DataplaneGate, field: string, problem: string): CoreError {
  return { code: 'E_GATE', message: `gate ${JSON.stringify(gate.id)}: ${problem}`, path: field };
}

/** Formats one gate as a map element, checking every value it contains. */
function gateElement(gate: DataplaneGate): Result<Element> {
  const comment = nftComment(gate.id);
  if (comment === null) return fail(gateError(gate, 'id', 'id is not a valid gate id'));
  const lan = nftAddress(gate.lan.address);
  if (lan === null) return fail(gateError(gate, 'lan.address', 'LAN address is not an IP address'));
  const lanPort = nftPort(gate.lan.port);
  if (lanPort === null) return fail(gateError(gate, 'lan.port', 'LAN port is not in 1-65535'));
  const family: Family = lan.family === 4 ? 'v4' : 'v6';

  let remote = ANY_ADDRESS[family];
  if (gate.remote.address !== null) {
    const parsed = nftAddress(gate.remote.address);
    if (parsed === null) return fail(gateError(gate, 'remote.address', 'remote address is not an IP address'));
    if (parsed.family !== lan.family) return fail(gateError(gate, 'remote.address', 'remote and LAN addresses differ in family'));
    remote = parsed.text;
  }
  let remotePort = '0-65535';
  if (gate.remote.port !== null) {
    const parsed = nftPort(gate.remote.port);
    if (parsed === null) return fail(gateError(gate, 'remote.port', 'remote port is not in 1-65535'));
    remotePort = parsed;
  }
  const className = GATE_CLASSES.get(gate.dscp);
  if (className === undefined) return fail(gateError(gate, 'dscp', `DSCP ${gate.dscp} is not a gate class (EF, AF41, CS5)`));
  const timeout = gate.lifetimeS === null ? '' : nftSeconds(gate.lifetimeS);
  if (timeout === null) return fail(gateError(gate, 'lifetimeS', 'lifetime is not a whole number of seconds up to 7 days'));

  const ways: readonly Way[] = gate.direction === 'both' ? WAYS : [gate.direction];
  const key = `${lan.text} . ${lanPort} . ${remote} . ${remotePort}`;
  const expiry = timeout === '' ? '' : ` timeout ${timeout}`;
  return ok({ family, ways, text: `${key}${expiry} comment ${comment} : goto mark_${className}_${family}` });
}

function renderMap(name: string, family: Family, elements: readonly string[]): string[] {
  const ip = IP_KEYWORD[family];
  const lines = [
    `\tmap ${name} {`,
    `\t\ttypeof ${ip} saddr . udp sport . ${ip} daddr . udp dport : verdict`,
    '\t\tflags interval,timeout',
    '\t\tcounter',
  ];
  if (elements.length > 0) lines.push(`\t\telements = {\n\t\t\t${elements.join(',\n\t\t\t')}\n\t\t}`);
  lines.push('\t}');
  return lines;
}

interface MarkBits {
  /** Bits of the conntrack mark that other packages own: kept as they are. */
  readonly keep: string;
  /** Position of the lowest bit of the class field. */
  readonly shift: number;
}

function renderMarkChains(mark: MarkBits): string[] {
  const lines: string[] = [];
  for (const [dscp, className] of GATE_CLASSES) {
    const classBits = nftHex32((dscp << mark.shift) >>> 0);
    for (const family of FAMILIES) {
      lines.push(`\tchain mark_${className}_${family} {`);
      lines.push(`\t\t${IP_KEYWORD[family]} dscp set ${className} ct mark set ct mark and ${mark.keep} or ${classBits}`);
      lines.push('\t}');
    }
  }
  return lines;
}

function renderForward(settings: DataplaneSettings): string[] {
  const lines = ['\tchain forward {', '\t\ttype filter hook forward priority mangle; policy accept;'];
  if (settings.washUnadmittedEf) {
    // Washed first: admitted flows are marked again by the maps below.
    lines.push('\t\tip dscp ef ip dscp set cs0', '\t\tip6 dscp ef ip6 dscp set cs0');
  }
  for (const family of FAMILIES) {
    const ip = IP_KEYWORD[family];
    lines.push(`\t\t${ip} saddr . udp sport . ${ip} daddr . udp dport vmap @up_${family}`);
    lines.push(`\t\t${ip} daddr . udp dport . ${ip} saddr . udp sport vmap @down_${family}`);
  }
  lines.push('\t}');
  return lines;
}

/** The mask must be one contiguous run of 6 to 8 bits: room for a 6-bit DSCP. */
function markBits(mask: number): Result<MarkBits> {
  const invalid = fail({ code: 'E_CONFIG', message: 'mark mask must be one run of 6 to 8 bits', path: 'markMask' });
  if (!Number.isInteger(mask) || mask <= 0 || mask > 0xffffffff) return invalid;
  const shift = Math.log2((mask & -mask) >>> 0);
  const width = Math.log2((mask >>> 0) / 2 ** shift + 1);
  if (!Number.isInteger(width) || width < 6 || width > 8) return invalid;
  return ok({ keep: nftHex32(~mask >>> 0)!, shift });
}

export function renderNftBatch(settings: DataplaneSettings, gates: readonly DataplaneGate[]): Result<string> {
  const mark = markBits(settings.markMask);
  if (!mark.ok) return mark;

  const elements: Record<string, string[]> = { up_v4: [], down_v4: [], up_v6: [], down_v6: [] };
  const seen = new Set<string>();
  for (const gate of gates) {
    if (seen.has(gate.id)) return fail(gateError(gate, 'id', 'gate id is used twice'));
    seen.add(gate.id);
    const element = gateElement(gate);
    if (!element.ok) return element;
    for (const way of element.value.ways) elements[`${way}_${element.value.family}`]!.push(element.value.text);
  }

  const body: string[] = [];
  for (const family of FAMILIES) for (const way of WAYS) body.push(...renderMap(`${way}_${family}`, family, elements[`${way}_${family}`]!), '');
  body.push(...renderMarkChains(mark.value), '', ...renderForward(settings));

  return ok(
    [
      `# callqos-agent data plane: ${gates.length} gate(s). The agent owns this table; changes here are overwritten.`,
      // Creating then deleting makes the delete succeed on a fresh system; the batch is one transaction.
      `table inet ${NFT_TABLE}`,
      `delete table inet ${NFT_TABLE}`,
      `table inet ${NFT_TABLE} {`,
      ...body,
      '}',
      '',
    ].join('\n'),
  );
}
