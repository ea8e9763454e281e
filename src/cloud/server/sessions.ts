/**
 * The session manager: the policy decision point's core. A call-control request becomes gates
 * on the routers at both ends (located from their interface reports, rated and classed by the
 * DiffServ policy, admitted against each router's EF budget in each direction, all or nothing);
 * routers' reports move the call on; a deadline turns a missing report into a failure that rolls
 * back what was installed; a deletion removes the gates and the routers' final counters are
 * recorded as usage.
 *
 * Every state change is a compare-and-set in the store, so several server instances can share
 * the routers' reports; per call, requests are handled one at a time.
 */
import type { Locator } from '../../core/control/locate.ts';
import type { Logger } from '../../core/log.ts';
import { gateHash } from '../../core/protocol/digest.ts';
import type { MessageOf } from '../../core/protocol/envelope.ts';
import { MAX_GATES } from '../../core/protocol/messages/gates.ts';
import type { Gate } from '../../core/protocol/messages/gates.ts';
import type { MediaLine, SessionAddBody, SessionDeleteBody, SessionStateBody } from '../../core/protocol/messages/cc.ts';
import { fail, ok } from '../../core/result.ts';
import type { CoreError, Result } from '../../core/result.ts';
import type { AdmittedKbps, CallRecords, DeviceRecord, GateRecord, GateState, JsonObject, SessionRecord, SessionState, Store, StoreTx } from '../store/types.ts';
import type { ServerConfig } from './config.ts';
import type { GateReportSink } from './devices.ts';
import { ANONYMOUS_HTTP_CLIENT } from './http-api.ts';
import type { SessionApi } from './http-api.ts';
import { KeyedQueue } from './keyed-queue.ts';
import type { Outbox } from './outbox.ts';
import { sessionView } from './session-view.ts';
import { checkedState } from './session-answer.ts';
import type { Authorizer } from './authorizer.ts';
import type { ClearinghouseClient } from './clearinghouse-client.ts';
import { buildUsageIndication } from './usage-indication.ts';
import { withPeer, type Peering } from './peering.ts';
import { REASON_CODES as R, reasonText, refusal, type Refusal } from './reasons.ts';
import type { PeerConfig } from './config.ts';
import type { UsageIndicationBody } from '../../core/protocol/messages/ch.ts';

/** One gate the plan puts on one router. */
export interface PlannedGate {
  readonly device: string;
  readonly gate: Gate;
}

/** What a media line needs: its gates, or why it gets none (then the line is rejected: best effort). */
export interface LinePlan {
  readonly line: number;
  readonly gates: readonly PlannedGate[];
  readonly reason: Refusal | null;
}

/** Locates both ends of a media line and plans its gates (core/control behind it). */
export interface Planner {
  plan(locator: Locator, callId: string, body: SessionAddBody, media: MediaLine, lifetimeS: number): LinePlan;
}

/** An install or modify that could not be built: the gates it carried, and why. */
interface UnsentDecision {
  readonly device: string;
  readonly type: 'decision.install' | 'decision.modify';
  readonly gateIds: readonly string[];
  readonly error: CoreError;
}

interface Decisions {
  readonly install?: ReadonlyMap<string, Gate[]>;
  readonly modify?: ReadonlyMap<string, Gate[]>;
  readonly remove: ReadonlyMap<string, string[]>;
  readonly versions: ReadonlyMap<string, number>;
}

/** Admission control: null when the gates fit the router's budget, else why not. */
export type AdmissionCheck = (device: DeviceRecord, admitted: AdmittedKbps, wanted: readonly Gate[]) => Refusal | null;

export interface SessionManagerDeps {
  readonly store: Store;
  readonly outbox: Outbox;
  readonly planner: Planner;
  /** The router-location index, current as of the last interface report. */
  readonly locator: () => Promise<Locator>;
  readonly admit: AdmissionCheck;
  /** Publishes a device's retained desired-state summary after its gates changed. */
  readonly publishDesired: (device: string) => Promise<void>;
  readonly config: Pick<ServerConfig, 'decisionDeadlineMs' | 'removalDeadlineMs' | 'offlinePolicy' | 'gateLifetimeS'>;
  readonly log: Logger;
  readonly now?: () => number;
  /** Authorization by the clearinghouse before admission; absent: none (policy off). */
  readonly authorizer?: Authorizer;
  /** Where a finished call's usage indication goes (with the authorizer). */
  readonly clearinghouse?: ClearinghouseClient;
}

const LIVE_LINE: readonly SessionState[] = ['pending', 'active'];
/** How often a request waiting for its call to settle reads the store (for reports another instance handled). */
const SETTLE_POLL_MS = 200;
const HELD_GATE: readonly GateState[] = ['installing', 'installed'];
/** Lines that may still change what the call used: until none is left, no usage indication. */
const UNFINISHED_LINE: readonly SessionState[] = ['pending', 'active', 'ending'];

/** The part of a request that decides a line's gates: equal specs need no change. */
function lineSpec(body: SessionAddBody, media: MediaLine): JsonObject {
  return JSON.parse(JSON.stringify({ caller: body.caller, callee: body.callee, media })) as JsonObject;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);


export class SessionManager implements SessionApi, GateReportSink {
  private readonly calls = new KeyedQueue();
  /** Requests waiting for their call to settle; woken with the call as just read, when it was. */
  private readonly waiters = new Map<string, Set<(known?: CallRecords) => void>>();
  private readonly now: () => number;
  private sweeping = false;
  /** Calls whose usage indication is on its way to the clearinghouse now. */
  private readonly reporting = new Set<string>();
  /** Other domains' servers, for call ends that are theirs (set once the broker link is up). */
  private peering: Peering | null = null;

  constructor(private readonly deps: SessionManagerDeps) {
    this.now = deps.now ?? Date.now;
  }

  usePeering(peering: Peering): void {
    this.peering = peering;
  }

  // ---- the session API -----------------------------------------------------------------------

  async add(client: string, body: SessionAddBody): Promise<Result<SessionStateBody>> {
    const peer = await this.calls.run(body.callId, () => this.apply(client, body));
    // The peer installs its end meanwhile; it has its own routers.
    // Never back to the server that asked: two domains that are each other's peers would bounce it.
    const peerAnswer = peer && this.peering && peer.serverId !== client ? this.peering.add(peer, body, await this.tokenOf(body)) : null;
    // Outside the call's queue: the reports that settle it go through that queue.
    let view: SessionStateBody;
    if (body.wait !== true) view = await this.view(body.callId);
    else {
      const settled = await this.settle(body.callId, this.now() + this.deps.config.decisionDeadlineMs);
      view = settled ? await this.withToken(sessionView(body.callId, settled.lines, settled.gates)) : await this.view(body.callId);
    }
    return ok(peer && peerAnswer ? withPeer(view, peer, await peerAnswer) : view);
  }

  /** The token a peer needs: the one call control presented, else the one the clearinghouse gave us. */
  private async tokenOf(body: SessionAddBody): Promise<string | undefined> {
    if (body.token !== undefined) return body.token;
    return this.deps.authorizer ? (await this.deps.store.getAuthorization(body.callId))?.token : undefined;
  }

  /** A re-INVITE or UPDATE: the same as add, which only changes lines whose media changed. */
  modify(client: string, body: SessionAddBody): Promise<Result<SessionStateBody>> {
    return this.add(client, body);
  }

  remove(client: string, body: SessionDeleteBody): Promise<Result<SessionStateBody>> {
    return this.calls.run(body.callId, async () => {
      const lines = await this.deps.store.listSessions({ callId: body.callId });
      if (lines.length === 0) return fail({ code: 'E_NOT_FOUND', message: `no session ${body.callId}`, path: 'callId' });
      // The call as it stands after each change, kept from what the changes return instead of read again.
      const after = new Map(lines.map((l) => [l.line, l]));
      let gates: readonly GateRecord[] | null = null;
      const wasLive = lines.some((l) => LIVE_LINE.includes(l.state));
      for (const line of lines) {
        if (LIVE_LINE.includes(line.state)) {
          const ended = await this.endLine(line, 'ending', null);
          if (ended.line) after.set(line.line, ended.line);
          // Each removal read all of the call's gates after the removals before it.
          gates = ended.gates ?? gates;
        } else if (line.state === 'rejected' || line.state === 'failed') {
          const closed = await this.deps.store.updateSession(line.callId, line.line, { state: 'ended', endedAtMs: this.now(), updatedAtMs: this.now() }, [line.state]);
          if (closed) after.set(line.line, closed);
        }
      }
      const call: CallRecords = { lines: [...after.values()], gates: gates ?? (await this.deps.store.listGates({ callId: body.callId })) };
      for (const ended of await this.settleEnding(body.callId, call)) after.set(ended.line, ended);
      // A repeated deletion is not passed on again.
      if (wasLive) this.peering?.remove(body, client, { lines, gates: call.gates });
      if (this.deps.authorizer && body.releasedBy !== undefined) {
        await this.deps.store.noteRelease(body.callId, { releasedBy: body.releasedBy, sipStatus: body.sipStatus ?? null, reason: body.reason ?? null });
      }
      this.finishIfDone(body.callId, [...after.values()]);
      return ok(sessionView(body.callId, [...after.values()], call.gates));
    });
  }

  async get(callId: string): Promise<SessionStateBody | null> {
    const lines = await this.deps.store.listSessions({ callId });
    return lines.length === 0 ? null : this.view(callId);
  }

  async health(): Promise<Record<string, unknown>> {
    const [pending, active] = await Promise.all([this.deps.store.listSessions({ state: 'pending' }), this.deps.store.listSessions({ state: 'active' })]);
    return { ok: true, server: this.deps.outbox.serverId, sessions: { pending: pending.length, active: active.length } };
  }

  private async view(callId: string): Promise<SessionStateBody> {
    const { lines, gates } = await this.deps.store.readCall(callId);
    return this.withToken(sessionView(callId, lines, gates));
  }

  /** With authorization on, the answer carries the call's token for call control to pass on in SIP. */
  private async withToken(view: SessionStateBody): Promise<SessionStateBody> {
    if (!this.deps.authorizer) return view;
    const auth = await this.deps.store.getAuthorization(view.callId);
    return auth ? { ...view, token: auth.token } : view;
  }


  // ---- add and modify ------------------------------------------------------------------------

  /** Admits what changed; returns the peer that serves the call's other end, when there is one. */
  private async apply(client: string, body: SessionAddBody): Promise<PeerConfig | null> {
    const existing = new Map((await this.deps.store.listSessions({ callId: body.callId })).map((s) => [s.line, s]));
    const changed: { media: MediaLine; old: SessionRecord | undefined }[] = [];
    for (const media of body.media) {
      const old = existing.get(media.line);
      // Idempotent: the same media again changes nothing; a finished line is not revived.
      if (old && (sameJson(old.spec, lineSpec(body, media)) || !LIVE_LINE.includes(old.state))) continue;
      changed.push({ media, old });
    }
    if (changed.length > 0) {
      const locator = await this.deps.locator();
      const plans = changed.map(({ media, old }) => ({ media, old, plan: this.deps.planner.plan(locator, body.callId, body, media, this.deps.config.gateLifetimeS) }));
      const peer = this.peering?.peerFor(plans) ?? null;
      const unauthorized = await this.authorizeLines(body, plans, peer?.domain ?? null);
      const outcome = await this.deps.store.transaction((tx) => this.admitLines(tx, client, body, plans, unauthorized));
      await this.failUnsent(body.callId, await this.sendDecisions(outcome));
      for (const line of outcome.rejected) this.deps.log.info('session line rejected', { call: body.callId, line: line.line, reason: line.reason });
      // A call refused here is not passed on.
      return peer !== null && unauthorized === null && outcome.rejected.length < plans.length ? peer : null;
    }
    return null;
  }

  /**
   * Asks the authorizer for the lines about to get gates; null when they may have them (or no
   * authorization is configured), else why not.
   */
  private async authorizeLines(body: SessionAddBody, plans: readonly { media: MediaLine; plan: LinePlan }[], destinationDomain: string | null): Promise<Refusal | null> {
    const authorizer = this.deps.authorizer;
    const wanted = plans.filter(({ plan }) => plan.reason === null && plan.gates.length > 0);
    if (!authorizer || wanted.length === 0) return null;
    const flows = wanted.map(({ media, plan }) => ({
      line: media.line,
      offer: media.offer,
      answer: media.answer,
      dscp: plan.gates[0]!.gate.dscp,
      kbps: Math.max(...plan.gates.map((g) => g.gate.rateKbps)),
    }));
    const first = wanted[0]!;
    const deviceAt = (address: string) => first.plan.gates.find((g) => g.gate.lan.address === address)?.device ?? null;
    const outcome = await authorizer.authorize(body, flows, { sourceDevice: deviceAt(first.media.offer.address), destinationDevice: deviceAt(first.media.answer.address), destinationDomain });
    return outcome.ok ? null : outcome.reason;
  }

  /**
   * In one transaction: lock the routers, check each one's budget with what the call adds (a
   * modified gate counts only its change), then record the lines and gates and raise the routers'
   * desired-state versions. All lines of the request are admitted, or none.
   */
  private async admitLines(
    tx: StoreTx,
    client: string,
    body: SessionAddBody,
    plans: readonly { media: MediaLine; old: SessionRecord | undefined; plan: LinePlan }[],
    /** Why the clearinghouse refused these lines, if it did: refused like a budget. */
    unauthorized: Refusal | null,
  ): Promise<{ install: Map<string, Gate[]>; modify: Map<string, Gate[]>; remove: Map<string, string[]>; rejected: { line: number; reason: string }[]; versions: Map<string, number> }> {
    const now = this.now();
    const install = new Map<string, Gate[]>();
    const modify = new Map<string, Gate[]>();
    const remove = new Map<string, string[]>();
    const versions = new Map<string, number>();
    const rejected: { line: number; reason: string }[] = [];
    const push = <T>(map: Map<string, T[]>, key: string, value: T) => (map.get(key) ?? map.set(key, []).get(key)!).push(value);

    const oldGates = new Map<string, GateRecord>();
    for (const { old } of plans) {
      if (!old) continue;
      for (const g of await tx.listGates({ callId: body.callId })) if (g.line === old.line && HELD_GATE.includes(g.state)) oldGates.set(g.id, g);
    }
    const devices = [...new Set(plans.flatMap(({ plan }) => plan.gates.map((g) => g.device)))];
    const locked = new Map((await tx.lockDevices(devices)).map((d) => [d.id, d]));

    // Why the whole request fails, if it does: an unknown or offline router, or a budget.
    let refused: Refusal | null = unauthorized;
    for (const device of devices) {
      const record = locked.get(device);
      if (!record || record.link === null) refused ??= refusal(R.routerUnknown, `router ${device} has not opened a session with the server`);
      else if (record.status !== 'online' && this.deps.config.offlinePolicy === 'fail') refused ??= refusal(R.routerOffline, `router ${device} is offline`);
      if (refused !== null || !record) continue;
      const admitted = await tx.admittedKbps(device);
      const wanted = plans.flatMap(({ plan }) => plan.gates.filter((g) => g.device === device).map((g) => g.gate));
      // A modified gate's old rate is already counted: take it out before asking.
      const released = [...oldGates.values()].filter((g) => g.device === device);
      const base = released.reduce((sum, g) => ({ up: sum.up - (g.direction !== 'down' ? g.rateKbps : 0), down: sum.down - (g.direction !== 'up' ? g.rateKbps : 0) }), admitted);
      const over = this.deps.admit(record, base, wanted);
      if (over !== null) refused ??= over;
    }

    for (const { media, old, plan } of plans) {
      const spec = lineSpec(body, media);
      if (old && plan.reason === null && refused !== null) {
        // A refused modify leaves the line as it was: its gates keep marking.
        const why = reasonText({ code: refused.code, detail: `change refused: ${refused.detail}` });
        await tx.updateSession(body.callId, media.line, { reason: why, updatedAtMs: now });
        rejected.push({ line: media.line, reason: why });
        continue;
      }
      const why = plan.reason ?? refused;
      const reason = why === null ? null : reasonText(why);
      const gatesOfLine = why === null ? plan.gates : [];
      const newIds = new Set(gatesOfLine.map((g) => g.gate.id));
      let changes = 0;
      if (old) {
        for (const g of oldGates.values()) {
          if (g.line !== media.line || newIds.has(g.id)) continue;
          await tx.updateGateState(g.id, { state: 'removing', atMs: now, ifStateIn: HELD_GATE });
          push(remove, g.device, g.id);
          changes += 1;
        }
      }
      const fresh: GateRecord[] = [];
      for (const { device, gate } of gatesOfLine) {
        const previous = oldGates.get(gate.id);
        if (previous && previous.hash === gateHash(gate)) continue;
        if (previous) {
          await tx.deleteGates([gate.id]);
          push(modify, device, gate);
        } else push(install, device, gate);
        fresh.push({ id: gate.id, device, callId: body.callId, line: media.line, gate, hash: gateHash(gate), direction: gate.direction, rateKbps: gate.rateKbps, state: 'installing', updatedAtMs: now, error: null });
      }
      if (fresh.length > 0) await tx.insertGates(fresh);
      changes += fresh.length;

      // A line without gates (its stream is inactive or removed, or it was refused) has nothing to wait for.
      let state: SessionState;
      if (gatesOfLine.length === 0) state = old && changes > 0 ? 'ending' : reason !== null && !old ? 'rejected' : 'ended';
      else state = changes > 0 || !old ? 'pending' : old.state;
      if (reason !== null && !old) rejected.push({ line: media.line, reason });
      const deadlineMs = state === 'pending' ? now + this.deps.config.decisionDeadlineMs : state === 'ending' ? now + this.deps.config.removalDeadlineMs : null;
      const finished = state === 'ended' || state === 'rejected' ? now : null;
      const gateIds = gatesOfLine.map((g) => g.gate.id);
      if (old) {
        await tx.updateSession(body.callId, media.line, { client, state, spec, reason, gateIds, deadlineMs, endedAtMs: finished, updatedAtMs: now });
      } else {
        await tx.insertSession({
          callId: body.callId, line: media.line, client, state, spec, reason, gateIds,
          createdAtMs: now, updatedAtMs: now, deadlineMs, activeAtMs: null, endedAtMs: finished,
        });
      }
    }
    for (const device of new Set([...install.keys(), ...modify.keys(), ...remove.keys()])) versions.set(device, await tx.bumpDesiredVersion(device));
    return { install, modify, remove, rejected, versions };
  }

  /**
   * After the transaction committed: the decisions, each with the router's new desired-state
   * version. Returns the installs and modifies that could not be built (the outbox logged each
   * with its path); a removal that could not be built ends with the removal deadline, and the
   * gate's lifetime removes it on the router.
   */
  private async sendDecisions({ install = new Map(), modify = new Map(), remove, versions }: Decisions): Promise<UnsentDecision[]> {
    const unsent: UnsentDecision[] = [];
    const devices = new Set([...install.keys(), ...modify.keys(), ...remove.keys()]);
    for (const device of devices) {
      const version = versions.get(device) ?? 0;
      const removing = remove.get(device);
      if (removing?.length) this.send(device, 'decision.remove', { version, gates: removing });
      for (const [type, gates] of [['decision.modify', modify.get(device)], ['decision.install', install.get(device)]] as const) {
        if (!gates?.length) continue;
        const error = this.send(device, type, { version, gates });
        if (error !== null) unsent.push({ device, type, gateIds: gates.map((g) => g.id), error });
      }
    }
    // Every router gets its decisions before the store is read for the summaries.
    for (const device of devices) await this.deps.publishDesired(device);
    return unsent;
  }

  /** Sends one decision; the error when it could not be built (the outbox has logged it with the field's path). */
  private send<T extends 'decision.install' | 'decision.modify' | 'decision.remove'>(device: string, type: T, body: MessageOf<T>['body']): CoreError | null {
    const sent = this.deps.outbox.toDevice(device, type, body as never);
    return sent.ok ? null : sent.error;
  }

  /**
   * The lines whose install or modify could not be built fail now, naming the error, rather than
   * at the deadline as if a router had been silent; what their other routers got is rolled back.
   */
  private async failUnsent(callId: string, unsent: readonly UnsentDecision[]): Promise<void> {
    const lines = new Map<number, Refusal>();
    for (const { device, type, gateIds, error } of unsent) {
      const why = refusal(R.internal, `${type} to ${device} could not be built: ${error.code} at ${error.path ?? ''}: ${error.message}`);
      for (const id of gateIds) {
        const gate = await this.deps.store.getGate(id);
        if (gate && gate.callId === callId && !lines.has(gate.line)) lines.set(gate.line, why);
      }
    }
    for (const [line, why] of lines) {
      const record = await this.deps.store.getSession(callId, line);
      if (record && LIVE_LINE.includes(record.state)) await this.endLine(record, 'failed', why);
    }
  }

  // ---- ending lines --------------------------------------------------------------------------

  /**
   * Takes a line's gates out (state `ending` until the routers confirm, or `failed` with the
   * reason when this is a rollback); a line without gates left ends at once. Returns the line as
   * changed and all of the call's gates as they stand after it (null where nothing was changed).
   */
  private async endLine(line: SessionRecord, state: 'ending' | 'failed', reason: Refusal | null): Promise<{ line: SessionRecord | null; gates: GateRecord[] | null }> {
    const now = this.now();
    const { remove, versions, changed, callGates } = await this.deps.store.transaction(async (tx) => {
      const current = await tx.getSession(line.callId, line.line);
      if (!current || !LIVE_LINE.includes(current.state)) return { remove: new Map<string, string[]>(), versions: new Map<string, number>(), changed: null, callGates: null };
      const callGates = await tx.listGates({ callId: line.callId });
      const gates = callGates.filter((g) => g.line === line.line && HELD_GATE.includes(g.state));
      const remove = new Map<string, string[]>();
      for (const g of gates) {
        const removing = await tx.updateGateState(g.id, { state: 'removing', atMs: now, ifStateIn: HELD_GATE });
        if (removing) callGates[callGates.indexOf(g)] = removing;
        (remove.get(g.device) ?? remove.set(g.device, []).get(g.device)!).push(g.id);
      }
      const changed = await tx.updateSession(line.callId, line.line, {
        state: gates.length === 0 && state === 'ending' ? 'ended' : state,
        reason: state === 'failed' && reason !== null ? reasonText(reason) : current.reason,
        deadlineMs: now + this.deps.config.removalDeadlineMs,
        endedAtMs: gates.length === 0 ? now : null,
        updatedAtMs: now,
      });
      const versions = new Map<string, number>();
      for (const device of remove.keys()) versions.set(device, await tx.bumpDesiredVersion(device));
      return { remove, versions, changed, callGates };
    });
    // Removals only: nothing comes back unsent.
    await this.sendDecisions({ remove, versions });
    this.wake(line.callId);
    return { line: changed, gates: callGates };
  }

  /**
   * Lines in `ending` whose gates are all gone end now; returns the lines it ended. `known`: the
   * call's lines and gates, when just read.
   */
  private async settleEnding(callId: string, known?: CallRecords): Promise<SessionRecord[]> {
    const lines = known ? known.lines.filter((l) => l.state === 'ending') : await this.deps.store.listSessions({ callId, state: 'ending' });
    if (lines.length === 0) return [];
    const gates = known?.gates ?? (await this.deps.store.listGates({ callId }));
    const endedLines: SessionRecord[] = [];
    for (const line of lines) {
      const open = gates.filter((g) => g.line === line.line && g.state !== 'removed' && g.state !== 'failed');
      if (open.length > 0) continue;
      const ended = await this.deps.store.updateSession(callId, line.line, { state: 'ended', endedAtMs: this.now(), deadlineMs: null, updatedAtMs: this.now() }, ['ending']);
      if (ended) {
        this.deps.log.info('session line ended', { call: callId, line: line.line });
        endedLines.push(ended);
      }
    }
    return endedLines;
  }

  // ---- routers' reports ----------------------------------------------------------------------

  /** `report.success`, or gates a resynchronising router holds as wanted: installs and removals confirmed. */
  async installed(device: string, gateIds: readonly string[]): Promise<void> {
    const changed = await this.deps.store.confirmGates(device, gateIds, this.now());
    for (const callId of new Set(changed.map((g) => g.callId))) await this.calls.run(callId, () => this.progress(callId));
  }

  async removed(device: string, gateIds: readonly string[]): Promise<void> {
    await this.installed(device, gateIds);
  }

  /** `report.failure`: those lines fail, and what their other routers installed is rolled back. */
  async failed(device: string, failures: readonly { id: string; code: string; message: string }[]): Promise<void> {
    const lines = new Map<string, { callId: string; line: number; reason: Refusal }>();
    for (const f of failures) {
      const gate = await this.deps.store.getGate(f.id);
      if (!gate || gate.device !== device) continue;
      const reason = refusal(R.routerRefused, `router ${device} refused gate ${f.id}: ${f.code} ${f.message}`);
      await this.deps.store.updateGateState(f.id, { state: 'failed', error: reasonText(reason), atMs: this.now() });
      lines.set(`${gate.callId}\n${gate.line}`, { callId: gate.callId, line: gate.line, reason });
    }
    for (const { callId, line, reason } of lines.values()) {
      await this.calls.run(callId, async () => {
        const record = await this.deps.store.getSession(callId, line);
        if (record && LIVE_LINE.includes(record.state)) await this.endLine(record, 'failed', reason);
        await this.notify(callId);
      });
    }
  }

  async accounting(device: string, message: MessageOf<'report.accounting'>): Promise<void> {
    const endedIds: string[] = [];
    for (const usage of message.body.gates) {
      const gate = await this.deps.store.getGate(usage.id);
      if (gate && gate.device !== device) continue;
      const outcome = await this.deps.store.recordUsage({
        device,
        gateId: usage.id,
        callId: gate?.callId ?? usage.session ?? null,
        up: usage.up,
        down: usage.down,
        firstSeen: usage.firstSeen,
        lastSeen: usage.lastSeen,
        ended: usage.ended ?? null,
        receivedAtMs: this.now(),
      });
      if (!outcome.recorded) this.deps.log.debug('usage report changed nothing (a repeat)', { device, gate: usage.id });
      if (usage.ended !== undefined && gate && gate.state === 'removing') endedIds.push(usage.id);
    }
    if (endedIds.length > 0) await this.installed(device, endedIds);
  }

  /** The router removed gates by itself: a live line has lost its QoS. */
  async deleted(device: string, message: MessageOf<'delete'>): Promise<void> {
    const calls = new Map<string, Set<number>>();
    for (const id of message.body.gates) {
      const gate = await this.deps.store.getGate(id);
      if (!gate || gate.device !== device || gate.state === 'removed') continue;
      await this.deps.store.updateGateState(id, { state: 'removed', error: `removed by the router: ${message.body.reason}`, atMs: this.now() });
      (calls.get(gate.callId) ?? calls.set(gate.callId, new Set()).get(gate.callId)!).add(gate.line);
    }
    for (const [callId, lines] of calls) {
      await this.calls.run(callId, async () => {
        for (const line of lines) {
          const record = await this.deps.store.getSession(callId, line);
          if (record && LIVE_LINE.includes(record.state)) await this.endLine(record, 'failed', refusal(R.gateRemoved, `router ${device} removed a gate (${message.body.reason})`));
        }
        await this.progress(callId);
      });
    }
  }

  /** A router went away: with the `fail` policy, lines still waiting for it fail now. */
  async offline(device: string): Promise<void> {
    if (this.deps.config.offlinePolicy !== 'fail') return;
    const waiting = await this.deps.store.listGates({ device, state: 'installing' });
    for (const callId of new Set(waiting.map((g) => g.callId))) {
      await this.calls.run(callId, async () => {
        for (const line of await this.deps.store.listSessions({ callId, state: 'pending' })) {
          await this.endLine(line, 'failed', refusal(R.routerOffline, `router ${device} went offline before installing`));
        }
        await this.notify(callId);
      });
    }
  }

  /**
   * Every live line holding a gate on `device` fails with `reason` (a revoked router): its gates
   * on the other routers are removed, and call control is told. Returns how many lines ended.
   */
  async endDeviceLines(device: string, reason: Refusal): Promise<number> {
    const held = [...(await this.deps.store.listGates({ device, state: 'installing' })), ...(await this.deps.store.listGates({ device, state: 'installed' }))];
    let ended = 0;
    for (const callId of new Set(held.map((g) => g.callId))) {
      await this.calls.run(callId, async () => {
        for (const line of new Set(held.filter((g) => g.callId === callId).map((g) => g.line))) {
          const record = await this.deps.store.getSession(callId, line);
          if (record && LIVE_LINE.includes(record.state)) {
            await this.endLine(record, 'failed', reason);
            ended += 1;
          }
        }
        await this.notify(callId);
      });
    }
    if (ended > 0) this.deps.log.info('session lines ended with their router', { device, code: reason.code, lines: ended });
    return ended;
  }

  /** Moves a call's lines on after gate changes: pending -> active, ending -> ended; tells its client. */
  private async progress(callId: string): Promise<void> {
    const { lines: before, gates } = await this.deps.store.readCall(callId);
    const now = this.now();
    const moved = new Map<number, SessionRecord>();
    for (const line of before) {
      if (line.state !== 'pending') continue;
      const mine = gates.filter((g) => g.line === line.line && g.state !== 'removed' && g.state !== 'removing');
      if (mine.length > 0 && mine.every((g) => g.state === 'installed')) {
        const active = await this.deps.store.updateSession(callId, line.line, { state: 'active', reason: null, activeAtMs: line.activeAtMs ?? now, deadlineMs: null, updatedAtMs: now }, ['pending']);
        if (active) moved.set(active.line, active);
      }
    }
    // Lines that were ending are still so (only pending ones moved above): what was read serves.
    for (const ended of await this.settleEnding(callId, { lines: before, gates })) moved.set(ended.line, ended);
    // The call as it stands now, without reading it again: the lines read, with the moves made.
    await this.notify(callId, { lines: before.map((l) => moved.get(l.line) ?? l), gates });
  }

  /** Wakes local waiters and tells the call's client where it stands now (`known`: the call as just read). */
  private async notify(callId: string, known?: CallRecords): Promise<void> {
    this.wake(callId, known);
    const lines = known?.lines ?? (await this.deps.store.listSessions({ callId }));
    this.finishIfDone(callId, lines);
    const client = lines[0]?.client;
    // The anonymous HTTP client has nobody listening for notices: it has its answer, or asks again.
    if (client === undefined || client === ANONYMOUS_HTTP_CLIENT) return;
    const view = known ? sessionView(callId, known.lines, known.gates) : await this.view(callId);
    // A notice answers no request: one that cannot be built is logged (with its path) and becomes a rejection naming why.
    const sent = this.deps.outbox.toClient(client, checkedState(view, this.deps.log));
    if (!sent.ok) this.deps.log.error('cannot notify call control', { client, call: callId, code: sent.error.code, path: sent.error.path ?? '' });
  }

  private wake(callId: string, known?: CallRecords): void {
    for (const resolve of this.waiters.get(callId) ?? []) resolve(known);
  }

  /**
   * Waits until no line of the call is pending; at `untilMs` the lines past their deadline fail.
   * Returns the call as last read where it settled, or null when the deadline expired lines (read it again).
   */
  private async settle(callId: string, untilMs: number): Promise<CallRecords | null> {
    let call: CallRecords | undefined;
    for (;;) {
      call ??= await this.deps.store.readCall(callId);
      const pending = call.lines.filter((l) => l.state === 'pending');
      if (pending.length === 0) return call;
      if (this.now() >= untilMs) {
        for (const line of pending) await this.expireLine(line);
        return null;
      }
      call = await new Promise<CallRecords | undefined>((resolve) => {
        let set = this.waiters.get(callId);
        if (!set) this.waiters.set(callId, (set = new Set()));
        const done = (known?: CallRecords) => {
          clearTimeout(timer);
          set!.delete(done);
          if (set!.size === 0) this.waiters.delete(callId);
          resolve(known);
        };
        // Reports handled here wake the waiter at once; those another instance handles are seen
        // when the store is read again.
        const timer = setTimeout(done, Math.max(1, Math.min(SETTLE_POLL_MS, untilMs - this.now())));
        set.add(done);
      });
    }
  }

  // ---- usage for the clearinghouse -----------------------------------------------------------

  /**
   * Once no line of an authorized call can change any more, its usage indication is built (by one
   * instance: the store sets it once) and sent. Runs beside the call's work, not in its queue: the
   * clearinghouse's answer must not hold the call's next request up.
   */
  private finishIfDone(callId: string, lines: readonly SessionRecord[]): void {
    if (!this.deps.clearinghouse || lines.length === 0 || lines.some((l) => UNFINISHED_LINE.includes(l.state))) return;
    void (async () => {
      const auth = await this.deps.store.getAuthorization(callId);
      if (!auth || auth.usage !== null) return;
      const [gates, usage] = await Promise.all([this.deps.store.listGates({ callId }), this.deps.store.listUsage({ callId })]);
      const indication = buildUsageIndication(auth, lines, gates, usage);
      if (await this.deps.store.setAuthorizationUsage(callId, indication as unknown as JsonObject)) await this.sendUsage(callId, indication);
    })().catch((err: unknown) => this.deps.log.error('building the usage indication failed', { call: callId, error: String(err) }));
  }

  private async sendUsage(callId: string, indication: UsageIndicationBody): Promise<void> {
    if (!this.deps.clearinghouse || this.reporting.has(callId)) return;
    this.reporting.add(callId);
    try {
      const answer = await this.deps.clearinghouse.reportUsage(indication);
      if (!answer.ok) {
        this.deps.log.warn('usage indication not confirmed; sent again later', { call: callId, reason: answer.error.message });
        return;
      }
      // An error the clearinghouse names (an unknown transaction) does not go away by sending again.
      if (answer.value.error !== null) this.deps.log.error('the clearinghouse did not record the usage', { call: callId, transaction: indication.transactionId, reason: answer.value.error });
      await this.deps.store.confirmAuthorizationUsage(callId, this.now());
    } finally {
      this.reporting.delete(callId);
    }
  }

  /** Sends again the usage indications the clearinghouse has not confirmed (it was away, or the answer lost). */
  async resendUsage(): Promise<number> {
    if (!this.deps.clearinghouse) return 0;
    const waiting = await this.deps.store.listUnconfirmedUsage(100);
    for (const auth of waiting) await this.sendUsage(auth.callId, auth.usage as unknown as UsageIndicationBody);
    return waiting.length;
  }

  // ---- deadlines -----------------------------------------------------------------------------

  /** A pending line past its deadline fails, naming the routers that did not report, and is rolled back. */
  private expireLine(line: SessionRecord): Promise<void> {
    return this.calls.run(line.callId, async () => {
      const current = await this.deps.store.getSession(line.callId, line.line);
      if (!current || current.state !== 'pending' || current.deadlineMs === null || current.deadlineMs > this.now()) return;
      const gates = await this.deps.store.listGates({ callId: line.callId });
      const missing = [...new Set(gates.filter((g) => g.line === line.line && g.state === 'installing').map((g) => g.device))];
      if (await this.waitsForOfflineRouters(missing)) {
        // Offline policy `wait`: the call goes on best effort and gets its QoS when the router
        // comes back and resynchronises (its desired state holds the gate); the line stays pending.
        const now = this.now();
        await this.deps.store.updateSession(line.callId, line.line, { reason: reasonText(refusal(R.routerOffline, `waiting for offline router ${missing.join(', ')}`)), deadlineMs: now + this.deps.config.decisionDeadlineMs, updatedAtMs: now }, ['pending']);
        await this.notify(line.callId);
        return;
      }
      await this.endLine(current, 'failed', refusal(R.deadline, `no install report from ${missing.join(', ') || 'a router'} within ${this.deps.config.decisionDeadlineMs} ms`));
      await this.notify(line.callId);
    });
  }

  /**
   * With offline policy `wait`, whether every router that has not reported is offline, or came
   * back less than a deadline ago (it is resynchronising, and gets the gate from its sync).
   */
  private async waitsForOfflineRouters(devices: readonly string[]): Promise<boolean> {
    if (this.deps.config.offlinePolicy !== 'wait' || devices.length === 0) return false;
    const since = this.now() - this.deps.config.decisionDeadlineMs;
    for (const id of devices) {
      const device = await this.deps.store.getDevice(id);
      if (!device || (device.status === 'online' && device.statusAtMs <= since)) return false;
    }
    return true;
  }

  /**
   * Renews the router-side lifetime of gates installed for longer than half of it: the same gate
   * is sent again as `decision.modify`, which the router applies in place (counters kept) with a
   * fresh lifetime. A call may last longer than a gate's lifetime; a gate whose removal was lost
   * still ends within one lifetime. Two instances renewing one gate at once send the same
   * modify twice, which the router applies idempotently.
   */
  async refreshGates(): Promise<number> {
    const now = this.now();
    const due = await this.deps.store.listGates({ state: 'installed', updatedBeforeMs: now - (this.deps.config.gateLifetimeS * 1000) / 2 });
    const byDevice = new Map<string, Gate[]>();
    for (const g of due) {
      const renewed = await this.deps.store.updateGateState(g.id, { state: 'installed', atMs: now, ifStateIn: ['installed'] });
      if (renewed) (byDevice.get(g.device) ?? byDevice.set(g.device, []).get(g.device)!).push(g.gate);
    }
    for (const [device, gates] of byDevice) {
      const version = (await this.deps.store.getDevice(device))?.desiredVersion ?? 0;
      for (let at = 0; at < gates.length; at += MAX_GATES) {
        const error = this.send(device, 'decision.modify', { version, gates: gates.slice(at, at + MAX_GATES) });
        // The gates were installed; unrenewed, they live out the lifetime they have.
        if (error !== null) this.deps.log.warn('gate renewal not sent', { device, gates: Math.min(MAX_GATES, gates.length - at), code: error.code, path: error.path ?? '' });
      }
    }
    if (due.length > 0) this.deps.log.info('gate lifetimes renewed', { gates: due.length, routers: byDevice.size });
    return due.length;
  }

  /**
   * Pending lines past their deadline fail and are rolled back; ending lines past theirs end (the
   * gates' lifetime removes whatever a lost removal left). Every instance runs it; the store's
   * compare-and-set makes each change happen once.
   */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = this.now();
      // Only lines past their deadline as read: the others would queue behind their calls' work for nothing.
      for (const line of await this.deps.store.listSessions({ state: 'pending' })) {
        if (line.deadlineMs !== null && line.deadlineMs <= now) await this.expireLine(line);
      }
      for (const line of await this.deps.store.listSessions({ state: 'ending' })) {
        if (line.deadlineMs === null || line.deadlineMs > now) continue;
        await this.calls.run(line.callId, async () => {
          for (const g of await this.deps.store.listGates({ callId: line.callId })) {
            if (g.line === line.line && g.state === 'removing') await this.deps.store.updateGateState(g.id, { state: 'removed', error: 'removal not confirmed in time', atMs: now, ifStateIn: ['removing'] });
          }
          await this.progress(line.callId);
        });
      }
    } finally {
      this.sweeping = false;
    }
  }
}
