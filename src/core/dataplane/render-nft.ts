/**
 * Renders the desired data plane as one nft batch that creates the agent's own table from
 * scratch (`nft -f` applies it as one transaction, so live flows are never unmarked while it
 * runs). Layout of `table inet callqos`:
 *
 *   maps up_v4, down_v4, up_v6, down_v6   gate 5-tuple (LAN address . LAN port . remote address .
 *                                         remote port) -> goto the gate's class chain. Interval
 *                                         maps, so a wildcard remote is 0.0.0.0/0 (or ::/0) and
 *                                         0-65535; per-element timeout (a lost removal expires) and
 *                                         counter (usage per gate and direction).
 *   maps limit_up_v4, …                   the same key -> the gate's named limit object.
 *   limit g<hash>u, g<hash>d              per gate and direction: "rate over" the admitted rate.
 *   chain forward                         hook forward, mangle priority: there both directions
 *                                         carry the LAN host's real address (after DNAT coming in,
 *                                         before SNAT going out). Washes unadmitted EF, then
 *                                         classifies up (LAN source) and down (LAN destination).
 *   chains mark_<class>_<family>_<way>    demote what exceeds the gate's limit to best effort;
 *                                         set the DSCP and the class in the masked conntrack bits.
 */
import { fail, ok } from '../result.ts';
import type { Result } from '../result.ts';
import { gateElements, nftText, usageKey } from './gate-elements.ts';
import { GateSet } from './gate-set.ts';
import type { GateElements, Usage } from './gate-elements.ts';
import { classMap, FAMILIES, GATE_CLASSES, limitMap, NFT_TABLE, SCHEMA_MARK, WAYS } from './model.ts';
import type { DataplaneGate, DataplaneSettings, Family, Way } from './model.ts';
import { nftHex32 } from './nft-values.ts';

const IP_KEYWORD: Record<Family, string> = { v4: 'ip', v6: 'ip6' };
const ADDR_TYPE: Record<Family, string> = { v4: 'ipv4_addr', v6: 'ipv6_addr' };

/** The packet fields that form a gate key, LAN side first, for traffic in each direction. */
function keyExpression(family: Family, way: Way): string {
  const ip = IP_KEYWORD[family];
  return way === 'up' ? `${ip} saddr . udp sport . ${ip} daddr . udp dport` : `${ip} daddr . udp dport . ${ip} saddr . udp sport`;
}

interface MarkBits {
  /** Bits of the conntrack mark that other packages own: kept as they are. */
  readonly keep: string;
  /** Position of the lowest bit of the class field. */
  readonly shift: number;
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

function renderMap(name: string, header: string, counted: boolean, elements: readonly string[]): string[] {
  const lines = [`\tmap ${name} {`, `\t\t${header}`, '\t\tflags interval,timeout'];
  if (counted) lines.push('\t\tcounter');
  if (elements.length > 0) lines.push(`\t\telements = {\n\t\t\t${elements.join(',\n\t\t\t')}\n\t\t}`);
  lines.push('\t}');
  return lines;
}

function renderMaps(gates: readonly GateElements[], usage: ReadonlyMap<string, Usage>): string[] {
  const lines: string[] = [];
  for (const family of FAMILIES) {
    const ip = IP_KEYWORD[family];
    for (const way of WAYS) {
      const mine = gates.filter((g) => g.family === family).flatMap((g) => g.ways.filter((w) => w.way === way).map((w) => ({ g, w })));
      lines.push(
        ...renderMap(classMap(way, family), `typeof ${ip} saddr . udp sport . ${ip} daddr . udp dport : verdict`, true, mine.map(({ g, w }) => nftText.classElement(g, w, usage.get(usageKey(g.id, w.way))))),
        // Object maps cannot be declared with typeof in nft 1.0.6.
        ...renderMap(limitMap(way, family), `type ${ADDR_TYPE[family]} . inet_service . ${ADDR_TYPE[family]} . inet_service : limit`, false, mine.map(({ g, w }) => nftText.limitElement(g, w))),
        '',
      );
    }
  }
  return lines;
}

/**
 * mac80211 sends a packet whose priority is 256 + a user priority with that priority. Its DSCP map
 * puts EF (46 >> 3 = 5) in the video access category; RFC 8325 section 4.3 wants voice (UP 6).
 */
const WIFI_VOICE_PRIORITY = ' meta priority set 0:106';

function renderMarkChains(mark: MarkBits, settings: DataplaneSettings): string[] {
  const lines: string[] = [];
  for (const [dscp, className] of GATE_CLASSES) {
    const classBits = nftHex32((dscp << mark.shift) >>> 0);
    const wifi = className === 'ef' && settings.wifiEfToVoice ? WIFI_VOICE_PRIORITY : '';
    for (const family of FAMILIES) {
      const ip = IP_KEYWORD[family];
      for (const way of WAYS) {
        lines.push(
          `\tchain mark_${className}_${family}_${way} {`,
          // "rate over" matches only the excess: demoted to best effort, not dropped.
          `\t\tlimit name ${keyExpression(family, way)} map @${limitMap(way, family)} ${ip} dscp set cs0 accept`,
          `\t\t${ip} dscp set ${className} ct mark set ct mark and ${mark.keep} or ${classBits}${wifi}`,
          '\t}',
        );
      }
    }
  }
  return lines;
}

function renderForward(settings: DataplaneSettings): string[] {
  const lines = [
    '\tchain forward {',
    '\t\ttype filter hook forward priority mangle; policy accept;',
    `\t\tcounter comment "${SCHEMA_MARK}"`,
  ];
  if (settings.washUnadmittedEf) {
    // Washed first: admitted flows are marked again by the maps below.
    lines.push('\t\tip dscp ef ip dscp set cs0', '\t\tip6 dscp ef ip6 dscp set cs0');
  }
  for (const family of FAMILIES) {
    for (const way of WAYS) lines.push(`\t\t${keyExpression(family, way)} vmap @${classMap(way, family)}`);
  }
  lines.push('\t}');
  return lines;
}

/** Every gate checked and formatted; the first bad one names itself and its field. */
export function allGateElements(settings: DataplaneSettings, gates: readonly DataplaneGate[]): Result<GateElements[]> {
  const set = new GateSet();
  for (const gate of gates) {
    const elements = gateElements(gate, settings);
    if (!elements.ok) return elements;
    const clash = set.check(elements.value);
    if (!clash.ok) return clash;
    set.set(elements.value);
  }
  return ok([...set.values()]);
}

/**
 * The whole table. `usage` carries counters over from the table being replaced (keyed by
 * usageKey), so rebuilding the table loses no accounting.
 */
export function renderNftBatch(
  settings: DataplaneSettings,
  gates: readonly DataplaneGate[],
  usage: ReadonlyMap<string, Usage> = new Map(),
): Result<string> {
  const mark = markBits(settings.markMask);
  if (!mark.ok) return mark;
  const elements = allGateElements(settings, gates);
  if (!elements.ok) return elements;

  const limits = elements.value.flatMap((g) => g.ways.map((w) => `\tlimit ${w.limitName} { ${nftText.limitSpec(w)} }`));
  return ok(
    [
      `# callqos-agent data plane: ${gates.length} gate(s). The agent owns this table; changes here are overwritten.`,
      // Creating then deleting makes the delete succeed on a fresh system; the batch is one transaction.
      `table inet ${NFT_TABLE}`,
      `delete table inet ${NFT_TABLE}`,
      `table inet ${NFT_TABLE} {`,
      ...limits,
      ...(limits.length > 0 ? [''] : []),
      ...renderMaps(elements.value, usage),
      ...renderMarkChains(mark.value, settings),
      '',
      ...renderForward(settings),
      '}',
      '',
    ].join('\n'),
  );
}
