/**
 * locate: which router a call's media end sits behind, from the routers' interface reports
 * (DESIGN.md section 5; seed 004 claim 4).
 *
 * The index is built once per set of reports (`buildLocator`) and answers in microseconds:
 * every prefix goes into a hash map keyed by its masked network, one map per prefix length, and
 * a lookup masks the address at each length present, longest first. A handful of lengths exist
 * in practice (/24, /48, /56, /64 ...), so a lookup is a few hash probes.
 *
 * How an address is located:
 * - A global address (public IPv4, global IPv6) that equals a WAN address of an up WAN interface
 *   locates that router, but not the LAN host: the phone's SDP shows its router's public
 *   address (SIP ALG, STUN). Result `how: 'wan'`, `lanAddress: null`; a gate needs the LAN host's
 *   real address, so the caller can install none on that router (see plan.ts), only at the far end.
 * - Otherwise a global address is looked up by longest prefix over the networks of up LAN
 *   interfaces (an interface address with its prefix length names its network) and the
 *   delegated IPv6 prefixes of up interfaces of either role: `how: 'prefix'`.
 * - A scoped address (RFC 1918, CGN 100.64/10, 169.254/16, IPv6 ULA) is ambiguous: thousands of
 *   routers use 192.168.1.0/24. The public address call control saw the signalling come from
 *   (`signallingSource`) selects the router: it equals one of the router's WAN addresses or, for a
 *   dual-stack phone signalling over IPv6, lies in one of its global prefixes. The scoped address
 *   must then lie in that router's LAN networks: `how: 'nat'`. Without a signalling source, or
 *   when no router matches it, the address is not located, even if only one router has the
 *   prefix: guessing would put a stranger's flow in the priority class.
 * - A scoped address inside an operator's routed scope (routed-scope.ts: private space that a
 *   VPN or MPLS routes without NAT, unique among the scope's routers) is looked up by longest
 *   prefix over the LAN networks the scope's routers report inside it, whatever the signalling
 *   source: `how: 'routed'`. Only when the signalling source selects, as above, a router outside
 *   the scope that holds the address (a home router whose NATed LAN happens to be numbered in the
 *   routed space) does that router win. A network two routers of a scope report is a conflict: the
 *   first reporter keeps it (`holders`: the holders of the previous build), the later ones are
 *   refused (`claims`), and an address in it is not located until one of them stops reporting it.
 * - WAN subnets are never matched as prefixes: an ISP access subnet is shared with neighbours.
 * - When two routers claim the same prefix (a stale report, a misconfiguration) at the longest
 *   matching length, the signalling source may pick one of them; otherwise the answer is a
 *   failure naming both. Routers behind another customer router (nested NAT) are not found.
 */
import { fail, type CoreError, type Failure } from '../result.ts';
import { formatIp, parseIp, type IpAddress, type IpFamily } from '../net/ip.ts';
import type { InterfaceEntry } from '../protocol/messages/interfaces.ts';
import { addressScope } from './address-scope.ts';
import { isMember, scopeHolds, scopeOf, type RoutedScope } from './routed-scope.ts';

export const E_LOCATE = 'E_LOCATE';

/** One router's latest interface report. */
export interface RouterInterfaces {
  readonly device: string;
  readonly interfaces: readonly InterfaceEntry[];
}

export interface LocateQuery {
  /** The SDP connection address of the media end. */
  readonly mediaAddress: string;
  /** The packet source address of that end's signalling as call control saw it; null when unknown. */
  readonly signallingSource?: string | null;
}

export type LocateHow = 'prefix' | 'nat' | 'wan' | 'routed';

export interface Location {
  readonly ok: true;
  readonly device: string;
  /** The LAN host's real address (canonical text); null when only the router is known (`wan`). */
  readonly lanAddress: string | null;
  /** The prefix that matched, `network/length`; a WAN address matches as /32 or /128. */
  readonly matchedPrefix: string;
  readonly how: LocateHow;
  /**
   * The address this end's media has on the wire beyond its router, when known: the address
   * itself for `prefix` and `wan`, the router's public WAN address for `nat` (the signalling
   * source when it equals a WAN address of the media's family, else the router's only public
   * WAN address of that family), else null. For `routed` the address itself, as the scope's
   * routers see it: beyond the scope it may be translated, so only an end in the same scope may
   * count on it (see `scope`).
   */
  readonly publicAddress: string | null;
  /** The routed scope the address was located in (`how: 'routed'`); otherwise null. */
  readonly scope: string | null;
}

export type LocateResult = Location | Failure<CoreError>;

export interface LocatorStats {
  readonly routers: number;
  /** Networks in the global longest-prefix index (after removing duplicates per router). */
  readonly globalPrefixes: number;
  /** Scoped (private) LAN networks, kept per router. */
  readonly scopedPrefixes: number;
  readonly wanAddresses: number;
}

/** A network reported inside a routed scope: who holds it, and who reported it too and was refused. */
export interface ScopeClaim {
  readonly scope: string;
  /** `network/length`. */
  readonly prefix: string;
  readonly holder: string;
  /** Routers that reported the same network later; non-empty means a conflict. */
  readonly refused: readonly string[];
}

export interface LocatorOptions {
  readonly scopes?: readonly RoutedScope[];
  /**
   * The holders of the previous build, by `claimKey`: a holder still reporting its network keeps
   * it, whoever else reports it since. Otherwise the earlier report (in `reports` order) holds.
   */
  readonly holders?: ReadonlyMap<string, string>;
}

export interface Locator {
  locate(query: LocateQuery): LocateResult;
  readonly stats: LocatorStats;
  /** Entries of the reports that were left out, each naming the device and the field. */
  readonly problems: readonly CoreError[];
  /** Every network reported inside a routed scope, by scope then network. */
  readonly claims: readonly ScopeClaim[];
  /** The holder of each claimed network, by `claimKey`: give it to the next build. */
  readonly holders: ReadonlyMap<string, string>;
}

export function claimKey(scope: string, prefix: string): string {
  return `${scope} ${prefix}`;
}

/** Shortest network accepted as a LAN or delegated prefix: anything wider is a broken report. */
export const MIN_PREFIX_LENGTH: Readonly<Record<IpFamily, number>> = { 4: 8, 6: 16 };

// ---- address keys ---------------------------------------------------------------------------

/** An address as 32-bit words (one for IPv4, four for IPv6), big-endian. */
type Words = number[];

function toWords(bytes: readonly number[]): Words {
  const words: Words = [];
  for (let i = 0; i < bytes.length; i += 4) {
    words.push((((bytes[i] ?? 0) << 24) | ((bytes[i + 1] ?? 0) << 16) | ((bytes[i + 2] ?? 0) << 8) | (bytes[i + 3] ?? 0)) >>> 0);
  }
  return words;
}

function wordMask(length: number, wordIndex: number): number {
  const kept = Math.max(0, Math.min(32, length - wordIndex * 32));
  return kept === 0 ? 0 : (0xffffffff << (32 - kept)) >>> 0;
}

/** The masked network as a map key: a number for IPv4, a short string for IPv6. */
function networkKey(words: Words, length: number): number | string {
  if (words.length === 1) return ((words[0] ?? 0) & wordMask(length, 0)) >>> 0;
  let key = '';
  for (let i = 0; i < words.length; i++) key += `${((words[i] ?? 0) & wordMask(length, i)) >>> 0}.`;
  return key;
}

function networkText(address: IpAddress, length: number): string {
  const bytes = address.bytes.map((byte, i) => {
    const kept = Math.max(0, Math.min(8, length - i * 8));
    return byte & ((0xff00 >> kept) & 0xff);
  });
  return `${formatIp({ family: address.family, bytes })}/${length}`;
}

// ---- the longest-prefix table -----------------------------------------------------------------

interface PrefixEntry {
  readonly device: string;
  readonly network: string;
}

interface PrefixMatch {
  readonly length: number;
  readonly entries: readonly PrefixEntry[];
}

/** Prefixes of one family: per length, masked network -> the routers that announced it. */
class PrefixTable {
  private readonly byLength = new Map<number, Map<number | string, PrefixEntry[]>>();
  private lengths: number[] = [];
  size = 0;

  add(words: Words, length: number, entry: PrefixEntry): void {
    let map = this.byLength.get(length);
    if (map === undefined) {
      map = new Map();
      this.byLength.set(length, map);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    const key = networkKey(words, length);
    const list = map.get(key);
    if (list === undefined) map.set(key, [entry]);
    else if (list.some((e) => e.device === entry.device)) return;
    else list.push(entry);
    this.size++;
  }

  longest(words: Words): PrefixMatch | undefined {
    for (const length of this.lengths) {
      const entries = this.byLength.get(length)?.get(networkKey(words, length));
      if (entries !== undefined) return { length, entries };
    }
    return undefined;
  }
}

// ---- per-router data --------------------------------------------------------------------------

interface ScopedNetwork {
  readonly family: IpFamily;
  readonly words: Words;
  readonly length: number;
  readonly network: string;
}

interface RouterRecord {
  readonly device: string;
  /** Canonical addresses of up WAN interfaces. */
  readonly wan: string[];
  readonly scoped: ScopedNetwork[];
}

function containsWords(net: ScopedNetwork, words: Words): boolean {
  for (let i = 0; i < words.length; i++) {
    const mask = wordMask(net.length, i);
    if (((((net.words[i] ?? 0) ^ (words[i] ?? 0)) & mask) >>> 0) !== 0) return false;
  }
  return true;
}

// ---- routed scopes ----------------------------------------------------------------------------

interface PendingClaim {
  readonly words: Words;
  readonly length: number;
  readonly family: IpFamily;
  readonly network: string;
  readonly devices: string[];
}

/** Per routed scope: the networks its routers reported inside it, by longest prefix. */
interface ScopeIndex {
  readonly scope: RoutedScope;
  readonly table: Record<IpFamily, PrefixTable>;
}

/** Orders each network's reporters (the previous holder first, then report order) and indexes them. */
function indexClaims(scopes: readonly RoutedScope[], pending: ReadonlyMap<string, Map<string, PendingClaim>>, previous: ReadonlyMap<string, string>) {
  const indexes = new Map<string, ScopeIndex>();
  const claims: ScopeClaim[] = [];
  const holders = new Map<string, string>();
  for (const scope of scopes) {
    const index: ScopeIndex = { scope, table: { 4: new PrefixTable(), 6: new PrefixTable() } };
    indexes.set(scope.name, index);
    const networks = [...(pending.get(scope.name)?.values() ?? [])].sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0));
    for (const claim of networks) {
      const key = claimKey(scope.name, claim.network);
      const kept = previous.get(key);
      const devices = kept !== undefined && claim.devices.includes(kept) ? [kept, ...claim.devices.filter((d) => d !== kept)] : claim.devices;
      for (const device of devices) index.table[claim.family].add(claim.words, claim.length, { device, network: claim.network });
      holders.set(key, devices[0]!);
      claims.push({ scope: scope.name, prefix: claim.network, holder: devices[0]!, refused: devices.slice(1) });
    }
  }
  return { indexes, claims, holders };
}

// ---- building ---------------------------------------------------------------------------------

export function buildLocator(reports: readonly RouterInterfaces[], options: LocatorOptions = {}): Locator {
  const scopes = options.scopes ?? [];
  const pendingClaims = new Map<string, Map<string, PendingClaim>>();
  const problems: CoreError[] = [];
  const global: Record<IpFamily, PrefixTable> = { 4: new PrefixTable(), 6: new PrefixTable() };
  const wanIndex = new Map<string, string[]>();
  const routers = new Map<string, RouterRecord>();
  let scopedCount = 0;

  const latest = new Map<string, RouterInterfaces>();
  reports.forEach((report, i) => {
    if (latest.has(report.device)) {
      problems.push({ code: E_LOCATE, message: `router ${report.device} is reported twice; the later report is used`, path: `reports[${i}].device` });
    }
    latest.set(report.device, report);
  });

  for (const { device, interfaces } of latest.values()) {
    const record: RouterRecord = { device, wan: [], scoped: [] };
    routers.set(device, record);
    const problem = (path: string, message: string) => problems.push({ code: E_LOCATE, message: `router ${device}: ${message}`, path });

    const addNetwork = (text: string, length: number, path: string) => {
      const parsed = parseIp(text);
      if (!parsed.ok) return problem(path, `${text} is not an IP address`);
      const a = parsed.value;
      const bits = a.family === 4 ? 32 : 128;
      if (!Number.isInteger(length) || length < MIN_PREFIX_LENGTH[a.family] || length > bits) {
        return problem(path, `prefix length ${length} is outside ${MIN_PREFIX_LENGTH[a.family]}..${bits}`);
      }
      const scope = addressScope(a);
      if (scope === 'unusable') return; // link-local and the like: nothing to locate there
      const words = toWords(a.bytes);
      const network = networkText(a, length);
      if (scope === 'scoped') {
        const routed = scopeOf(scopes, a);
        if (routed !== undefined && isMember(routed, device) && scopeHolds(routed, a, length)) {
          let byNetwork = pendingClaims.get(routed.name);
          if (byNetwork === undefined) pendingClaims.set(routed.name, (byNetwork = new Map()));
          const claim = byNetwork.get(network);
          if (claim === undefined) byNetwork.set(network, { words, length, family: a.family, network, devices: [device] });
          else if (!claim.devices.includes(device)) claim.devices.push(device);
        }
      }
      if (scope === 'global') global[a.family].add(words, length, { device, network });
      else if (!record.scoped.some((n) => n.network === network)) {
        record.scoped.push({ family: a.family, words, length, network });
        scopedCount++;
      }
    };

    interfaces.forEach((entry, i) => {
      if (!entry.up) return;
      const at = `${device}.interfaces[${i}]`;
      if (entry.role === 'lan') {
        entry.ipv4.forEach((p, j) => addNetwork(p.address, p.prefixLength, `${at}.ipv4[${j}]`));
        entry.ipv6.forEach((p, j) => addNetwork(p.address, p.prefixLength, `${at}.ipv6[${j}]`));
      } else {
        for (const p of [...entry.ipv4, ...entry.ipv6]) {
          const parsed = parseIp(p.address);
          if (!parsed.ok) {
            problem(`${at}`, `WAN address ${p.address} is not an IP address`);
            continue;
          }
          const canonical = formatIp(parsed.value);
          if (record.wan.includes(canonical)) continue;
          record.wan.push(canonical);
          const owners = wanIndex.get(canonical);
          if (owners === undefined) wanIndex.set(canonical, [device]);
          else owners.push(device);
        }
      }
      entry.ipv6Prefixes.forEach((p, j) => addNetwork(p.address, p.prefixLength, `${at}.ipv6Prefixes[${j}]`));
    });
  }

  const stats: LocatorStats = {
    routers: routers.size,
    globalPrefixes: global[4].size + global[6].size,
    scopedPrefixes: scopedCount,
    wanAddresses: wanIndex.size,
  };
  const { indexes, claims, holders } = indexClaims(scopes, pendingClaims, options.holders ?? new Map());
  return {
    stats,
    problems,
    claims,
    holders,
    locate: (query) => locateIn({ global, wanIndex, routers, scopes, scopeIndexes: indexes }, query),
  };
}

// ---- answering --------------------------------------------------------------------------------

interface Index {
  readonly global: Record<IpFamily, PrefixTable>;
  readonly wanIndex: ReadonlyMap<string, readonly string[]>;
  readonly routers: ReadonlyMap<string, RouterRecord>;
  readonly scopes: readonly RoutedScope[];
  readonly scopeIndexes: ReadonlyMap<string, ScopeIndex>;
}

function notLocated(message: string, path = 'mediaAddress'): Failure<CoreError> {
  return fail({ code: E_LOCATE, message, path });
}

function hostPrefix(address: string, family: IpFamily): string {
  return `${address}/${family === 4 ? 32 : 128}`;
}

/** The routers the signalling source points at: by WAN address, else by a global prefix. */
function routersOfSource(index: Index, source: IpAddress): { devices: readonly string[]; byWan: boolean } {
  const byWan = index.wanIndex.get(formatIp(source));
  if (byWan !== undefined) return { devices: byWan, byWan: true };
  if (addressScope(source) !== 'global') return { devices: [], byWan: false };
  const match = index.global[source.family].longest(toWords(source.bytes));
  return { devices: match === undefined ? [] : match.entries.map((e) => e.device), byWan: false };
}

/** Among several routers claiming an address, the one the signalling source selected, if exactly one. */
function pick(devices: readonly string[], selected: readonly string[] | null): string | undefined {
  if (devices.length === 1) return devices[0];
  if (selected === null) return undefined;
  const chosen = devices.filter((d) => selected.includes(d));
  return chosen.length === 1 ? chosen[0] : undefined;
}

function locateIn(index: Index, query: LocateQuery): LocateResult {
  const parsed = parseIp(query.mediaAddress);
  if (!parsed.ok) return notLocated(`media address ${JSON.stringify(query.mediaAddress)} is not an IP address`);
  const media = parsed.value;
  const mediaText = formatIp(media);
  const scope = addressScope(media);
  if (scope === 'unusable') return notLocated(`media address ${mediaText} is not a unicast address a router can hold`);

  let source: IpAddress | null = null;
  if (query.signallingSource !== undefined && query.signallingSource !== null) {
    const s = parseIp(query.signallingSource);
    if (!s.ok) return notLocated(`signalling source ${JSON.stringify(query.signallingSource)} is not an IP address`, 'signallingSource');
    source = s.value;
  }
  const selection = source === null ? null : routersOfSource(index, source);
  const selected = selection === null ? null : selection.devices;

  if (scope === 'global') {
    const wanOwners = index.wanIndex.get(mediaText);
    if (wanOwners !== undefined) {
      const device = pick(wanOwners, selected);
      if (device === undefined) return notLocated(`media address ${mediaText} is a WAN address of several routers (${wanOwners.join(', ')})`);
      return { ok: true, device, lanAddress: null, matchedPrefix: hostPrefix(mediaText, media.family), how: 'wan', publicAddress: mediaText, scope: null };
    }
    const match = index.global[media.family].longest(toWords(media.bytes));
    if (match === undefined) return notLocated(`no router has a prefix containing media address ${mediaText}`);
    const device = pick(
      match.entries.map((e) => e.device),
      selected,
    );
    if (device === undefined) {
      const owners = match.entries.map((e) => e.device).join(', ');
      return notLocated(`media address ${mediaText} lies in a prefix of several routers (${owners}) and the signalling source does not pick one`);
    }
    const entry = match.entries.find((e) => e.device === device)!;
    return { ok: true, device, lanAddress: mediaText, matchedPrefix: entry.network, how: 'prefix', publicAddress: mediaText, scope: null };
  }

  const behindNat = locateBehindNat(index, media, source, selection);
  const routed = scopeOf(index.scopes, media);
  if (routed === undefined) return behindNat;
  // The signalling came through the NAT of a router outside the scope that holds the address.
  if (behindNat.ok && !isMember(routed, behindNat.device)) return behindNat;
  const inScope = locateInScope(index.scopeIndexes.get(routed.name)!, media, mediaText);
  if (inScope !== null) return inScope;
  if (behindNat.ok) return behindNat;
  return notLocated(`media address ${mediaText} is in routed scope ${routed.name}, but no router of the scope reports a network containing it`);
}

/** A scoped address in a routed scope by longest prefix; null when no router of the scope reports it. */
function locateInScope(index: ScopeIndex, media: IpAddress, mediaText: string): LocateResult | null {
  const match = index.table[media.family].longest(toWords(media.bytes));
  if (match === undefined) return null;
  const [holder, ...refused] = match.entries;
  if (refused.length > 0) {
    const network = holder!.network;
    return notLocated(`${mediaText}: ${network} of routed scope ${index.scope.name} is reported by ${holder!.device} and ${refused.map((e) => e.device).join(', ')} (conflict: ${holder!.device} holds it, the others are refused); not guessed`);
  }
  return { ok: true, device: holder!.device, lanAddress: mediaText, matchedPrefix: holder!.network, how: 'routed', publicAddress: mediaText, scope: index.scope.name };
}

/** A scoped address by the signalling source: the router it selects must hold it in a LAN network. */
function locateBehindNat(index: Index, media: IpAddress, source: IpAddress | null, selection: { devices: readonly string[]; byWan: boolean } | null): LocateResult {
  const mediaText = formatIp(media);
  if (source === null || selection === null) {
    return notLocated(`media address ${mediaText} is private and ambiguous; without the signalling source it is not located`);
  }
  const sourceText = formatIp(source);
  if (selection.devices.length === 0) {
    return notLocated(`media address ${mediaText} is private and no router has the signalling source ${sourceText} as WAN address or in a global prefix`);
  }
  const words = toWords(media.bytes);
  const found: { record: RouterRecord; net: ScopedNetwork | null }[] = [];
  for (const device of selection.devices) {
    const record = index.routers.get(device);
    if (record === undefined) continue;
    if (record.wan.includes(mediaText)) {
      found.push({ record, net: null });
      continue;
    }
    let best: ScopedNetwork | null = null;
    for (const net of record.scoped) {
      if (net.family === media.family && containsWords(net, words) && (best === null || net.length > best.length)) best = net;
    }
    if (best !== null) found.push({ record, net: best });
  }
  if (found.length === 0) {
    return notLocated(`media address ${mediaText} is in no LAN prefix of router ${selection.devices.join(', ')} (selected by signalling source ${sourceText})`);
  }
  if (found.length > 1) {
    return notLocated(`media address ${mediaText} is in a LAN prefix of several routers selected by ${sourceText} (${found.map((f) => f.record.device).join(', ')})`);
  }
  const { record, net } = found[0]!;
  if (net === null) {
    return { ok: true, device: record.device, lanAddress: null, matchedPrefix: hostPrefix(mediaText, media.family), how: 'wan', publicAddress: mediaText, scope: null };
  }
  return {
    ok: true,
    device: record.device,
    lanAddress: mediaText,
    matchedPrefix: net.network,
    how: 'nat',
    publicAddress: publicAddressOf(record, media.family, selection.byWan ? source : null),
    scope: null,
  };
}

/** Where a NATed host's media appears beyond its router: see Location.publicAddress. */
function publicAddressOf(record: RouterRecord, family: IpFamily, wanSource: IpAddress | null): string | null {
  if (wanSource !== null && wanSource.family === family) return formatIp(wanSource);
  const candidates = record.wan.filter((w) => {
    const p = parseIp(w);
    return p.ok && p.value.family === family && addressScope(p.value) === 'global';
  });
  return candidates.length === 1 ? candidates[0]! : null;
}
