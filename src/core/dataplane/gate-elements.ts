/**
 * One gate as the kernel holds it: for each direction it covers, an element in that direction's
 * class map: key -> goto the class chain, with a timeout, a counter and a limit at the admitted
 * rate plus margin. A packet over the limit fails the lookup and so is not marked. Every value is
 * checked and formatted here, so nothing from outside reaches an nft script as text.
 */
import { fail, ok } from '../result.ts';
import type { CoreError, Result } from '../result.ts';
import { GATE_CLASSES, classMap, lanSet } from './model.ts';
import type { DataplaneGate, DataplaneSettings, Family, MapKind, Way } from './model.ts';
import { nftAddress, nftComment, nftPort, nftSeconds } from './nft-values.ts';

const ANY_ADDRESS: Record<Family, string> = { v4: '0.0.0.0/0', v6: '::/0' };
const ANY_PORT = '0-65535';

export interface WayElements {
  readonly way: Way;
  /** The class map this direction's element lives in (see classMap). */
  readonly map: string;
  /** The set its LAN endpoint must be in for the direction's maps to be consulted at all. */
  readonly lanSet: string;
  /** `lan . lport`, the element of that set. */
  readonly lanKey: string;
  /** `lan . lport . remote . rport`, as nft prints it, so kernel listings compare equal. */
  readonly key: string;
  readonly limitBytesPerSecond: number;
  readonly limitBurstBytes: number;
}

export interface GateElements {
  readonly id: string;
  readonly family: Family;
  readonly kind: MapKind;
  readonly className: string;
  readonly comment: string;
  /** ` timeout 3600s`, or empty for a gate without lifetime. */
  readonly timeout: string;
  readonly ways: readonly WayElements[];
}

function gateError(gate: DataplaneGate, field: string, problem: string): CoreError {
  return { code: 'E_GATE', message: `gate ${JSON.stringify(gate.id)}: ${problem}`, path: field };
}

/**
 * Rate plus margin in bytes/s, and a burst of 50 ms at that rate, at least two full packets. The
 * kernel's byte limit holds one second of rate on top of the burst, so a gate may also send at up
 * to twice its rate for a second before the excess is demoted.
 */
export function policeRate(rateKbit: number, marginPercent: number): { bytesPerSecond: number; burstBytes: number } {
  const bytesPerSecond = Math.ceil((rateKbit * 1000 * (100 + marginPercent)) / 100 / 8);
  return { bytesPerSecond, burstBytes: Math.max(MIN_BURST_BYTES, Math.ceil(bytesPerSecond / 20)) };
}

/** Two full-size packets. */
export const MIN_BURST_BYTES = 3000;

export function gateElements(gate: DataplaneGate, settings: DataplaneSettings): Result<GateElements> {
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
  let remotePort = ANY_PORT;
  if (gate.remote.port !== null) {
    const parsed = nftPort(gate.remote.port);
    if (parsed === null) return fail(gateError(gate, 'remote.port', 'remote port is not in 1-65535'));
    remotePort = parsed;
  }
  const className = GATE_CLASSES.get(gate.dscp);
  if (className === undefined) return fail(gateError(gate, 'dscp', `DSCP ${gate.dscp} is not a gate class (EF, AF41, CS5)`));
  const timeout = gate.lifetimeS === null ? '' : nftSeconds(gate.lifetimeS);
  if (timeout === null) return fail(gateError(gate, 'lifetimeS', 'lifetime is not a whole number of seconds up to 7 days'));
  if (!Number.isInteger(gate.rateKbit) || gate.rateKbit < 1 || gate.rateKbit > 1_000_000) {
    return fail(gateError(gate, 'rateKbit', 'rate is not a whole number of kbit/s in 1-1000000'));
  }
  const margin = settings.policeMarginPercent;
  if (!Number.isInteger(margin) || margin < 0 || margin > 100) {
    return fail({ code: 'E_CONFIG', message: 'police margin must be 0-100 percent', path: 'policeMarginPercent' });
  }

  const { bytesPerSecond, burstBytes } = policeRate(gate.rateKbit, margin);
  const key = `${lan.text} . ${lanPort} . ${remote} . ${remotePort}`;
  const ways: Way[] = gate.direction === 'both' ? ['up', 'down'] : [gate.direction];
  const kind: MapKind = gate.remote.address !== null && gate.remote.port !== null ? 'exact' : 'any';
  return ok({
    id: gate.id,
    family,
    kind,
    className,
    comment,
    timeout: timeout === '' ? '' : ` timeout ${timeout}`,
    ways: ways.map((way) => ({
      way,
      map: classMap(way, family, kind),
      lanSet: lanSet(way, family),
      lanKey: `${lan.text} . ${lanPort}`,
      key,
      limitBytesPerSecond: bytesPerSecond,
      limitBurstBytes: burstBytes,
    })),
  });
}

/** Packet and byte counts of one gate in one direction, carried over when the table is rebuilt. */
export interface Usage {
  readonly packets: number;
  readonly bytes: number;
}

/** Key of a gate's usage in one direction: `<gate id>/<way>`. */
export const usageKey = (gateId: string, way: Way) => `${gateId}/${way}`;

function counterText(usage: Usage | undefined): string {
  if (!usage || !Number.isSafeInteger(usage.packets) || !Number.isSafeInteger(usage.bytes) || usage.packets < 0 || usage.bytes < 0) return ' counter';
  return ` counter packets ${usage.packets} bytes ${usage.bytes}`;
}

/** Statement text of a gate's elements, shared by the full table and the changes. */
export const nftText = {
  limit: (w: WayElements) => `limit rate ${w.limitBytesPerSecond} bytes/second burst ${w.limitBurstBytes} bytes`,
  classVerdict: (g: GateElements) => `goto mark_${g.className}_${g.family}`,
  /** nft wants the counter and the limit before the timeout and the comment. */
  classElement: (g: GateElements, w: WayElements, usage?: Usage) =>
    `${w.key}${counterText(usage)} ${nftText.limit(w)}${g.timeout} comment ${g.comment} : ${nftText.classVerdict(g)}`,
};

/** True when two gates would match some packet in common, which the maps cannot hold apart. */
export function gatesOverlap(a: GateElements, b: GateElements): boolean {
  if (a.family !== b.family) return false;
  const parts = (g: GateElements) => g.ways[0]!.key.split(' . ');
  const [aLan, aPort, aRemote, aRemotePort] = parts(a);
  const [bLan, bPort, bRemote, bRemotePort] = parts(b);
  const shared = a.ways.some((w) => b.ways.some((v) => v.way === w.way));
  const any = (x: string | undefined) => x === ANY_ADDRESS[a.family] || x === ANY_PORT;
  return (
    shared &&
    aLan === bLan &&
    aPort === bPort &&
    (aRemote === bRemote || any(aRemote) || any(bRemote)) &&
    (aRemotePort === bRemotePort || any(aRemotePort) || any(bRemotePort))
  );
}
