/**
 * Renders the desired data plane as one nft batch that creates the agent's own table from
 * scratch (`nft -f` applies it as one transaction, so live flows are never unmarked while it
 * runs). Layout of `table inet callqos`:
 *
 *   sets <way>_<family>_lan               the LAN endpoints (address . port) that have a gate in
 *                                         that direction. The forward chain looks a packet up here
 *                                         first, one hash lookup per direction, so traffic without
 *                                         a gate pays the same with 10,000 gates as with none.
 *   chains gates_<way>_<family>           for a packet of such an endpoint: the exact map, then the
 *                                         interval map.
 *   maps up_v4, down_v4, up_v6, down_v6   gate 5-tuple (LAN address . LAN port . remote address .
 *                                         remote port) -> goto the gate's class chain, for gates
 *                                         whose remote end is known: hash maps.
 *   maps <way>_<family>_any               the same for gates with a wildcard remote (0.0.0.0/0 or
 *                                         ::/0, 0-65535): interval maps, whose lookup cost grows
 *                                         with their size.
 *                                         Each map element has a timeout (a lost removal
 *                                         expires), a counter (usage per gate and direction) and a
 *                                         limit at the admitted rate plus margin: a packet over it
 *                                         fails the lookup, so it is not marked. Per-element limits
 *                                         rather than named limit objects: nft loads every object
 *                                         on every command, 70 ms and 29 MiB with 10,000 gates.
 *   chain forward                         hook forward, mangle priority: there both directions
 *                                         carry the LAN host's real address (after DNAT coming in,
 *                                         before SNAT going out). Looks the packet up (up: LAN
 *                                         source; down: LAN destination); what no gate takes,
 *                                         unadmitted flows and the excess of admitted ones, falls
 *                                         through to the early count (marked UDP only) and the
 *                                         wash: EF becomes best effort.
 *   sets early_v4, early_v6               marked packets (a gate class) that no gate took, counted
 *                                         per 5-tuple in packet order: a small dynamic set. What the
 *                                         far router marked and counted as sent before this router's
 *                                         gate was there; the agent adds it to the gate's received
 *                                         count once the gate is in (see model.ts earlySet).
 *   chains mark_<class>_<family>          set the DSCP and the class in the masked conntrack bits,
 *                                         and accept (the verdict maps goto them, so this ends the
 *                                         forward chain for the packet, before the wash).
 */
import { fail, ok } from '../result.ts';
import type { Result } from '../result.ts';
import { gateElements, MIN_BURST_BYTES, nftText, usageKey } from './gate-elements.ts';
import { GateSet } from './gate-set.ts';
import type { GateElements, Usage } from './gate-elements.ts';
import { CLASS_MAPS, EARLY_SET_SIZE, EARLY_TIMEOUT_S, FAMILIES, GATE_CLASSES, NFT_TABLE, SCHEMA_MARK, WAYS, earlySet, gateChain, lanSet } from './model.ts';
import type { DataplaneGate, DataplaneSettings, Family, MapKind, Way } from './model.ts';
import { nftHex32 } from './nft-values.ts';

const IP_KEYWORD: Record<Family, string> = { v4: 'ip', v6: 'ip6' };

/** The packet fields that form a gate key, LAN side first, for traffic in each direction. */
function keyExpression(family: Family, way: Way): string {
  const ip = IP_KEYWORD[family];
  return way === 'up' ? `${ip} saddr . udp sport . ${ip} daddr . udp dport` : `${ip} daddr . udp dport . ${ip} saddr . udp sport`;
}

/** The LAN host's end of the packet: its source going up, its destination coming down. */
function lanExpression(family: Family, way: Way): string {
  const ip = IP_KEYWORD[family];
  return way === 'up' ? `${ip} saddr . udp sport` : `${ip} daddr . udp dport`;
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

function renderMap(name: string, family: Family, kind: MapKind, elements: readonly string[]): string[] {
  const ip = IP_KEYWORD[family];
  const lines = [
    `\tmap ${name} {`,
    `\t\ttypeof ${ip} saddr . udp sport . ${ip} daddr . udp dport : verdict`,
    kind === 'exact' ? '\t\tflags timeout' : '\t\tflags interval,timeout',
    // The kinds of state every element carries; each element sets its own rate.
    `\t\tcounter limit rate 1 kbytes/second burst ${MIN_BURST_BYTES} bytes`,
  ];
  if (elements.length > 0) lines.push(`\t\telements = {\n\t\t\t${elements.join(',\n\t\t\t')}\n\t\t}`);
  lines.push('\t}');
  return lines;
}

/** The LAN endpoint sets: one element per endpoint with a gate in that direction. */
function renderLanSets(gates: readonly GateElements[]): string[] {
  const lines: string[] = [];
  for (const family of FAMILIES) {
    for (const way of WAYS) {
      const name = lanSet(way, family);
      const keys = new Set(gates.flatMap((g) => g.ways.filter((w) => w.lanSet === name).map((w) => w.lanKey)));
      const ip = IP_KEYWORD[family];
      lines.push(`\tset ${name} {`, `\t\ttypeof ${ip} saddr . udp sport`);
      if (keys.size > 0) lines.push(`\t\telements = {\n\t\t\t${[...keys].join(',\n\t\t\t')}\n\t\t}`);
      lines.push('\t}', '');
    }
  }
  return lines;
}

/** The early sets: counters of marked packets no gate took, filled by the forward chain. */
function renderEarlySets(): string[] {
  return FAMILIES.flatMap((family) => [
    `\tset ${earlySet(family)} {`,
    `\t\ttypeof ${keyExpression(family, 'up')}`,
    `\t\tsize ${EARLY_SET_SIZE}`,
    '\t\tflags dynamic,timeout',
    `\t\ttimeout ${EARLY_TIMEOUT_S}s`,
    '\t\tcounter',
    '\t}',
    '',
  ]);
}

function renderMaps(gates: readonly GateElements[], usage: ReadonlyMap<string, Usage>): string[] {
  const lines: string[] = [];
  for (const { name, family, kind } of CLASS_MAPS) {
    const mine = gates.flatMap((g) => g.ways.filter((w) => w.map === name).map((w) => ({ g, w })));
    lines.push(...renderMap(name, family, kind, mine.map(({ g, w }) => nftText.classElement(g, w, usage.get(usageKey(g.id, w.way))))), '');
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
      lines.push(
        `\tchain mark_${className}_${family} {`,
        // accept: the class is set; nothing later in this chain (the wash) may touch the packet.
        `\t\t${IP_KEYWORD[family]} dscp set ${className} ct mark set ct mark and ${mark.keep} or ${classBits}${wifi} accept`,
        '\t}',
      );
    }
  }
  return lines;
}

/** Per direction: the exact map (a hash lookup), then the interval map for wildcard gates. */
function renderGateChains(): string[] {
  const lines: string[] = [];
  for (const family of FAMILIES) {
    for (const way of WAYS) {
      lines.push(`\tchain ${gateChain(way, family)} {`);
      for (const m of CLASS_MAPS) if (m.family === family && m.way === way) lines.push(`\t\t${keyExpression(family, way)} vmap @${m.name}`);
      lines.push('\t}');
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
  // A packet whose LAN endpoint has no gate costs one set lookup per direction, whatever the gates.
  for (const family of FAMILIES) {
    for (const way of WAYS) lines.push(`\t\t${lanExpression(family, way)} @${lanSet(way, family)} jump ${gateChain(way, family)}`);
  }
  // Only packets no gate took (a mark chain accepts) get here. A rule of its own: on a full set the
  // update fails, which ends its rule and must not skip the wash.
  const classes = [...GATE_CLASSES.values()].join(', ');
  for (const family of FAMILIES) {
    const ip = IP_KEYWORD[family];
    lines.push(`\t\tmeta l4proto udp ${ip} dscp { ${classes} } update @${earlySet(family)} { ${keyExpression(family, 'up')} }`);
  }
  if (settings.washUnadmittedEf) lines.push('\t\tip dscp ef ip dscp set cs0', '\t\tip6 dscp ef ip6 dscp set cs0');
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

  return ok(
    [
      `# callqos-agent data plane: ${gates.length} gate(s). The agent owns this table; changes here are overwritten.`,
      // Creating then deleting makes the delete succeed on a fresh system; the batch is one transaction.
      `table inet ${NFT_TABLE}`,
      `delete table inet ${NFT_TABLE}`,
      `table inet ${NFT_TABLE} {`,
      ...renderLanSets(elements.value),
      ...renderEarlySets(),
      ...renderMaps(elements.value, usage),
      ...renderMarkChains(mark.value, settings),
      '',
      ...renderGateChains(),
      '',
      ...renderForward(settings),
      '}',
      '',
    ].join('\n'),
  );
}
