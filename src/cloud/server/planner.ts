/**
 * From a media line to gates: both ends located (core/control/locate.ts), the DiffServ class
 * from the media type (RFC 4594: audio EF, video AF41), the rate from the codec and packet time
 * or `b=AS` plus IP/UDP/RTP headers, and one gate per router that holds a LAN end. Admission
 * checks a router's EF budget in each direction.
 */
import type { Locator, LocateResult, Location } from '../../core/control/locate.ts';
import { fnv1a64 } from '../../core/protocol/digest.ts';
import { DSCP, familyOf } from '../../core/protocol/fields.ts';
import type { Direction, Gate } from '../../core/protocol/messages/gates.ts';
import type { MediaLine, SessionAddBody } from '../../core/protocol/messages/cc.ts';
import type { AdmittedKbps, DeviceRecord } from '../store/types.ts';
import { GATE_RATE_MAX_KBPS } from '../../core/protocol/limits.ts';
import { REASON_CODES as R, refusal, type Refusal } from './reasons.ts';
import type { AdmissionCheck, LinePlan, PlannedGate, Planner } from './sessions.ts';

/** Payload bit rate in kbit/s of common voice codecs at their usual packet time. */
const VOICE_KBPS: Readonly<Record<string, number>> = {
  pcmu: 64, pcma: 64, g722: 64, g729: 8, g728: 16, g726: 32, gsm: 13.2, ilbc: 15.2, amr: 12.2, 'amr-wb': 23.85, speex: 24.6, opus: 40,
};
/** Video without `b=AS`: a conservative default for one HD stream. */
export const DEFAULT_VIDEO_KBPS = 2000;
const DEFAULT_PTIME_MS = 20;
/** Video packets are near the MTU; this sets how many per second carry headers. */
const VIDEO_PAYLOAD_BYTES = 1200;

/**
 * The rate a gate admits, in kbit/s at the IP layer (what the router's limit counts): payload
 * plus, per packet, the IP (20 or 40), UDP (8) and RTP (12) headers. `b=AS` is taken as the
 * RTP payload rate. G.711 at 20 ms over IPv4: 64 + 50 x 40 x 8 / 1000 = 80 kbit/s.
 */
export function gateRateKbps(media: MediaLine): number | null {
  const ipHeader = familyOf(media.answer.address) === 4 ? 20 : 40;
  const perPacketBits = (ipHeader + 8 + 12) * 8;
  const codec = media.codec;
  if (media.type === 'audio') {
    const payload = codec.bandwidthKbps ?? VOICE_KBPS[codec.name.toLowerCase()];
    if (payload === undefined) return null;
    const packetsPerSecond = 1000 / (codec.ptimeMs ?? DEFAULT_PTIME_MS);
    return Math.ceil(payload + (packetsPerSecond * perPacketBits) / 1000);
  }
  const payload = codec.bandwidthKbps ?? DEFAULT_VIDEO_KBPS;
  const packetsPerSecond = (payload * 1000) / (VIDEO_PAYLOAD_BYTES * 8);
  return Math.ceil(payload + (packetsPerSecond * perPacketBits) / 1000);
}

const DSCP_OF: Readonly<Record<MediaLine['type'], 46 | 34>> = { audio: DSCP.EF, video: DSCP.AF41 };

/** The offerer's SDP direction, from each router's side: `up` is its LAN host sending. */
function directionAt(end: 'offer' | 'answer', sdp: MediaLine['direction']): Direction | null {
  if (sdp === 'inactive') return null;
  if (sdp === 'sendrecv') return 'both';
  const offerSends = sdp === 'sendonly';
  return end === 'offer' ? (offerSends ? 'up' : 'down') : offerSends ? 'down' : 'up';
}

/** Where the far end's media comes from, as the router at `here` sees it: exact only when it is known. */
function remoteOf(here: LocateResult, other: LocateResult, media: { address: string; port: number }): Gate['remote'] {
  if (other.ok) {
    // Behind NAT the port may be rewritten; the public address is what the wire shows.
    if (other.how === 'nat') return { address: other.publicAddress, port: null };
    // A routed private address is what the wire shows only inside its scope: on the way to an
    // end outside it, the company's edge may translate it.
    if (other.how === 'routed' && !(here.ok && here.scope === other.scope)) return { address: null, port: null };
    return { address: other.publicAddress ?? media.address, port: media.port };
  }
  return { address: null, port: null };
}

function gateId(callId: string, line: number, end: 'offer' | 'answer', device: string): string {
  return `${fnv1a64(`${callId}\n${line}\n${end}\n${device}`)}.${line}${end === 'offer' ? 'o' : 'a'}`;
}

export function planLine(locator: Locator, callId: string, body: SessionAddBody, media: MediaLine, lifetimeS: number): LinePlan {
  const none = (reason: Refusal): LinePlan => ({ line: media.line, gates: [], reason });
  if (media.offer.port === 0 || media.answer.port === 0) return none(refusal(R.noStream, 'the stream was removed (port 0)'));
  if (media.direction === 'inactive') return none(refusal(R.noStream, 'the stream is inactive'));
  const rateKbps = gateRateKbps(media);
  if (rateKbps === null) return none(refusal(R.noRate, `no rate known for codec ${media.codec.name} and no b=AS`));
  // Headers on top of the largest b=AS can exceed what a gate may carry: refused here, never a decision that cannot be built.
  if (rateKbps > GATE_RATE_MAX_KBPS) return none(refusal(R.rate, `the stream needs ${rateKbps} kbit/s, more than the ${GATE_RATE_MAX_KBPS} one gate admits`));
  const ends = {
    offer: locator.locate({ mediaAddress: media.offer.address, signallingSource: body.caller.source }),
    answer: locator.locate({ mediaAddress: media.answer.address, signallingSource: body.callee.source }),
  };
  const gates: PlannedGate[] = [];
  for (const end of ['offer', 'answer'] as const) {
    const here = ends[end];
    const other = ends[end === 'offer' ? 'answer' : 'offer'];
    if (!here.ok || (here as Location).lanAddress === null) continue;
    const direction = directionAt(end, media.direction)!;
    const gate: Gate = {
      id: gateId(callId, media.line, end, here.device),
      direction,
      lan: { address: here.lanAddress!, port: media[end].port },
      remote: remoteOf(here, other, media[end === 'offer' ? 'answer' : 'offer']),
      dscp: DSCP_OF[media.type],
      rateKbps,
      lifetimeS,
      session: callId,
    };
    if (gate.remote.address !== null && familyOf(gate.remote.address) !== familyOf(gate.lan.address)) gate.remote = { address: null, port: null };
    gates.push({ device: here.device, gate });
  }
  if (gates.length === 0) {
    const why = (r: LocateResult) => (r.ok ? `router ${r.device} holds no LAN end` : r.error.message);
    // Each end's explanation names addresses and routers: the whole is cut to fit the answer (reasons.ts).
    return none(refusal(R.noRouter, `no router found for either end: offer: ${why(ends.offer)}; answer: ${why(ends.answer)}`));
  }
  return { line: media.line, gates, reason: null };
}

export function controlPlanner(): Planner {
  return { plan: planLine };
}

/** What the gates ask of a router, per direction: `both` counts in each. */
function need(gates: readonly Gate[]): AdmittedKbps {
  let up = 0;
  let down = 0;
  for (const g of gates) {
    if (g.direction !== 'down') up += g.rateKbps;
    if (g.direction !== 'up') down += g.rateKbps;
  }
  return { up, down };
}

/** All gates fit the router's EF budget in both directions, or the answer says which does not. */
export const admissionCheck: AdmissionCheck = (device: DeviceRecord, admitted: AdmittedKbps, wanted: readonly Gate[]) => {
  if (device.link === null) return refusal(R.routerUnknown, `router ${device.id} has not said what its link is`);
  const budget = {
    up: Math.floor((device.link.upKbps * device.link.efBudgetPercent) / 100),
    down: Math.floor((device.link.downKbps * device.link.efBudgetPercent) / 100),
  };
  const asked = need(wanted);
  for (const way of ['up', 'down'] as const) {
    if (admitted[way] + asked[way] > budget[way]) {
      return refusal(R.budget, `router ${device.id}: EF budget ${way} is ${budget[way]} kbit/s, ${admitted[way]} in use, ${asked[way]} asked`);
    }
  }
  return null;
};
