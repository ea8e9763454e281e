/**
 * A finished call's usage indication for the clearinghouse (OSP UsageIndication), from what the
 * store holds: the lines' times (created, QoS-active, ended), how the call was released, and the
 * routers' final counters per gate. Each media line gives a forward flow (caller to callee) and a
 * reverse one. The caller's router counts what leaves its LAN (`up`), the callee's router what
 * enters its LAN (`down`); where both ends have a router, the difference is what was lost between
 * them.
 */
import { MAX_USED_FLOWS, type UsageIndicationBody } from '../../core/protocol/messages/ch.ts';
import type { MediaLine } from '../../core/protocol/messages/cc.ts';
import { CODEC_NAME_MAX, RELEASE_REASON_MAX } from '../../core/protocol/limits.ts';
import { bounded } from '../../core/text/bounded.ts';
import type { CallAuthorization, GateRecord, SessionRecord, UsageRecord } from '../store/types.ts';

type Counters = { packets: number; bytes: number };
type Flow = UsageIndicationBody['flows'][number];

function mediaOf(line: SessionRecord): MediaLine | undefined {
  return (line.spec as { media?: MediaLine }).media;
}

function flow(line: number, direction: Flow['direction'], sent: Counters | undefined, received: Counters | undefined): Flow | null {
  const seen = sent ?? received;
  if (!seen) return null;
  const lost = sent && received ? Math.max(0, sent.packets - received.packets) : null;
  return { line, direction, packets: seen.packets, bytes: seen.bytes, lost };
}

export function buildUsageIndication(
  auth: CallAuthorization,
  lines: readonly SessionRecord[],
  gates: readonly GateRecord[],
  usage: readonly UsageRecord[],
): UsageIndicationBody {
  const counters = new Map(usage.map((u) => [`${u.device}\n${u.gateId}`, u]));
  const usageOf = (g: GateRecord | undefined) => (g ? counters.get(`${g.device}\n${g.id}`) : undefined);
  const flows: Flow[] = [];
  for (const line of [...lines].sort((a, b) => a.line - b.line)) {
    const media = mediaOf(line);
    if (!media) continue;
    const mine = gates.filter((g) => g.line === line.line);
    const caller = usageOf(mine.find((g) => g.gate.lan.address === media.offer.address));
    const callee = usageOf(mine.find((g) => g.gate.lan.address === media.answer.address));
    const forward = flow(line.line, 'forward', caller?.up, callee?.down);
    const reverse = flow(line.line, 'reverse', callee?.up, caller?.down);
    if (forward) flows.push(forward);
    if (reverse) flows.push(reverse);
  }
  const startMs = Math.min(...lines.map((l) => l.createdAtMs));
  const actives = lines.map((l) => l.activeAtMs).filter((t): t is number => t !== null);
  const connectMs = actives.length > 0 ? Math.min(...actives) : null;
  const endMs = Math.max(startMs, connectMs ?? startMs, ...lines.map((l) => l.endedAtMs ?? l.updatedAtMs));
  const failure = lines.find((l) => l.state === 'failed' && l.reason !== null)?.reason ?? null;
  // slice() could split a surrogate pair, and the lone half would make the indication fail to build.
  const termination = auth.release ?? { releasedBy: 'network' as const, sipStatus: null, reason: failure === null ? null : bounded(failure, RELEASE_REASON_MAX) };
  const codecName = lines.map(mediaOf).find((m) => m !== undefined)?.codec.name;
  const codec = codecName === undefined ? null : bounded(codecName, CODEC_NAME_MAX);
  return { transactionId: auth.transactionId, callId: auth.callId, startMs, connectMs, endMs, termination, codec, flows: flows.slice(0, MAX_USED_FLOWS) };
}
