/**
 * The agent's side of the COPS-over-MQTT relationship (docs/protocol.md). After every (re)start
 * of the link: `open` until `accept`, the retained `online` status, the interface report, and a
 * resync (the gates from the server it holds, with their hashes; the server answers with the
 * whole desired list; what differs is installed, cloud gates not listed are removed). Then:
 * decisions applied and answered with reports (a repeated decision gets the same answer without
 * touching the kernel), keep-alives both ways, the final usage of every gate that ends, a
 * `delete` for a gate that ended by itself, and a resync whenever the server's sequence skips,
 * its boot counter changes, or the retained desired digest differs from what the agent holds.
 */
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { gateHash } from '../../core/protocol/digest.ts';
import { decodeMessage, encodeValidated, makeMessage } from '../../core/protocol/envelope.ts';
import type { BodyOf, Message, MessageType } from '../../core/protocol/envelope.ts';
import { MAX_GATES } from '../../core/protocol/messages/gates.ts';
import type { Gate, Usage } from '../../core/protocol/messages/gates.ts';
import type { InterfacesBody } from '../../core/protocol/messages/interfaces.ts';
import type { OpenBody } from '../../core/protocol/messages/session.ts';
import type { ConfigApplyBody, ConfigReportBody } from '../../core/protocol/messages/config.ts';
import type { DataplaneGate } from '../../core/dataplane/model.ts';
import type { Result } from '../../core/result.ts';
import { Rejections } from '../../core/rejections.ts';
import { REASON_MAX } from '../../core/protocol/limits.ts';
import { bounded } from '../../core/text/bounded.ts';
import { HeldGates } from './held-gates.ts';
import { parseCommandArgs, type CommandArgs } from '../../core/fleet/router/command-args.ts';
import type { CommandBody, ResultBody } from '../../core/protocol/messages/fleet.ts';

/**
 * An error code a failure report may carry as it is (the schema's `errorCode`: E_ and up to 30
 * more); any other is reported as E_APPLY, so that the report always builds.
 */
const REPORTABLE_CODE = /^E_[A-Z0-9_]{1,30}$/;

/** What the session needs from the daemon's gates (the daemon serialises the calls). */
export interface GatePort {
  /** The cloud gates the daemon holds (its state survives restarts), each with its call reference. */
  cloudGates(): { gate: DataplaneGate; ref?: string }[];
  add(gate: DataplaneGate, ref: string | undefined): Promise<Result<unknown>>;
  remove(id: string): Promise<Result<{ usage: Record<'up' | 'down', { packets: number; bytes: number }> } | null>>;
}

export interface LinkPort {
  send(text: string): void;
  publishStatus(text: string): void;
  restart(reason: string): void;
  healthy(): void;
}

/** What a remote command did: the result to send, and work that must wait until it is sent (a restart). */
export interface CommandOutcome {
  readonly result: Result<unknown>;
  readonly after?: () => void;
}

/** The daemon's side of the fleet's remote commands (remote-commands.ts); resync is the session's own. */
export interface CommandPort {
  run(command: Exclude<CommandArgs, { name: 'resync' }>): Promise<CommandOutcome>;
}

export interface SessionOptions {
  readonly deviceId: string;
  readonly bootSession: number;
  readonly keepaliveS: number;
  readonly describe: () => Omit<OpenBody, 'keepaliveS'>;
  readonly interfaces: () => InterfacesBody | null;
  /** Configuration versions (src/agent/fleet/config-apply.ts): told of each accept and each `config.apply`. */
  readonly config?: {
    accepted(): void;
    apply(id: string, body: ConfigApplyBody): void;
  };
}

const SYNC_PART = 32;
const OPEN_RETRY_FIRST_MS = 500;
const OPEN_RETRY_MAX_MS = 5_000;
const SYNC_RETRY_FIRST_MS = 10_000;
const SYNC_RETRY_MAX_MS = 120_000;

/** Between 0.75 and 1.25 times `ms`: thousands of routers cut off at once do not retry in step. */
function jitter(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() / 2));
}
const REMEMBERED_DECISIONS = 256;

export function toDataplaneGate(g: Gate): DataplaneGate {
  return { id: g.id, direction: g.direction, lan: { ...g.lan }, remote: { ...g.remote }, dscp: g.dscp, rateKbit: g.rateKbps, lifetimeS: g.lifetimeS };
}

/** The protocol form back, as the server sent it (same content hash): the call reference is kept beside the data-plane gate. */
export function toProtocolGate(g: DataplaneGate, ref: string | undefined): Gate {
  const gate = { id: g.id, direction: g.direction, lan: { ...g.lan }, remote: { address: g.remote.address, port: g.remote.port }, dscp: g.dscp, rateKbps: g.rateKbit, lifetimeS: g.lifetimeS ?? 0 };
  return (ref === undefined ? gate : { ...gate, session: ref }) as Gate;
}

export class CloudSession {
  private seq = 0;
  private accepted = false;
  private openTimer: unknown = null;
  private keepaliveTimer: unknown = null;
  private lastHeardMs = 0;
  private readonly serverSeq = new Map<string, { session: number; seq: number }>();
  private readonly replies = new Map<string, Message[]>();
  /** The server's gates the agent holds, in protocol form (for hashes and reports). */
  private readonly held = new HeldGates();
  private syncParts: Gate[] = [];
  private syncing = false;
  private syncTimer: unknown = null;
  /** Malformed messages from the server, counted by code and logged at most once a second each. */
  readonly rejections: Rejections;
  /** The opens sent on the current connection: an accept answers one of them. */
  private readonly openIds = new Set<string>();

  constructor(
    private readonly host: Host,
    private readonly log: Logger,
    private readonly options: SessionOptions,
    private readonly gates: GatePort,
    private readonly link: LinkPort,
    /** Absent: every command is answered E_UNSUPPORTED. */
    private readonly commands: CommandPort | null = null,
  ) {
    this.rejections = new Rejections(log, 'message from the server rejected', () => host.clock.monotonicMs());
    for (const { gate, ref } of gates.cloudGates()) this.held.set(toProtocolGate(gate, ref));
  }

  private build<T extends MessageType>(type: T, body: BodyOf<T>, corr?: string): Message | null {
    this.seq += 1;
    const header = { id: `${this.options.deviceId}:${this.options.bootSession}:${this.seq}`, device: this.options.deviceId, session: this.options.bootSession, seq: this.seq, ts: Math.round(this.host.clock.wallMs()) };
    const built = makeMessage(type, corr === undefined ? header : { ...header, corr }, body);
    if (!built.ok) {
      this.log.error('cannot build message', { type, code: built.error.code, reason: built.error.message, field: built.error.path ?? '' });
      return null;
    }
    return built.value;
  }

  private send<T extends MessageType>(type: T, body: BodyOf<T>, corr?: string): Message | null {
    const message = this.build(type, body, corr);
    if (message === null) return null;
    // build() has just validated it.
    const text = encodeValidated(message);
    if (!text.ok) {
      this.log.error('cannot encode message', { type, code: text.error.code, reason: text.error.message });
      return null;
    }
    this.link.send(text.value);
    return message;
  }

  /** The status message the broker keeps: online now, or (as the will) offline. */
  statusText(state: 'online' | 'offline'): string {
    const m = this.build('status', { state, agentVersion: this.options.describe().agentVersion, since: Math.round(this.host.clock.wallMs()) });
    const text = m ? encodeValidated(m) : null;
    return text?.ok ? text.value : '';
  }

  /** The link (re)started: open again; a sync under way on the old connection is forgotten. */
  started(): void {
    this.accepted = false;
    this.serverSeq.clear();
    this.openIds.clear();
    this.stopSync();
    this.sendOpen(OPEN_RETRY_FIRST_MS);
  }

  private sendOpen(retryMs: number): void {
    if (this.openTimer !== null) this.host.timers.clearTimeout(this.openTimer as never);
    const open = this.send('open', { ...this.options.describe(), keepaliveS: this.options.keepaliveS });
    if (open) this.openIds.add(open.id);
    this.openTimer = this.host.timers.setTimeout(() => {
      this.openTimer = null;
      // After a broker restart the publisher may reconnect later than the subscriber: retry
      // often at first, then settle at every 5 s.
      if (!this.accepted) this.sendOpen(Math.min(OPEN_RETRY_MAX_MS, Math.round(retryMs * 1.5)));
    }, jitter(retryMs));
  }

  /** A message from the downlink or the desired topic. */
  async receive(topic: string, text: string): Promise<void> {
    const decoded = decodeMessage(text);
    if (!decoded.ok) {
      this.rejections.note(decoded.error.code, { reason: decoded.error.message.slice(0, 200), field: decoded.error.path ?? '' });
      return;
    }
    const m = decoded.value;
    this.lastHeardMs = this.host.clock.monotonicMs();
    this.link.healthy();
    if (topic.endsWith('/desired')) {
      if (m.type === 'desired') this.checkDesired(m.body.digest);
      return;
    }
    this.checkSequence(m);
    const repeated = this.replies.get(m.id);
    if (repeated) {
      for (const reply of repeated) {
        const again = encodeValidated(reply);
        if (again.ok) this.link.send(again.value);
      }
      return;
    }
    switch (m.type) {
      case 'accept':
        // Any open of this connection will do: a busy server may answer an earlier one after the
        // router repeated it. Taking only the newest would repeat opens for as long as it is busy.
        if (this.accepted || m.corr === undefined || !this.openIds.has(m.corr)) return;
        this.accepted = true;
        if (this.openTimer !== null) this.host.timers.clearTimeout(this.openTimer as never);
        this.openTimer = null;
        this.log.info('cloud session accepted', { server: m.body.server, keepalive_s: m.body.keepaliveS });
        this.link.publishStatus(this.statusText('online'));
        this.startKeepalive(m.body.keepaliveS);
        this.sendInterfaces();
        this.requestSync();
        this.options.config?.accepted();
        return;
      case 'keepalive':
        return;
      case 'decision.install':
      case 'decision.modify':
        return this.remember(m.id, await this.install(m.id, m.body.version, m.body.gates));
      case 'decision.remove':
        return this.remember(m.id, await this.removeGates(m.id, m.body.version, m.body.gates));
      case 'sync.complete':
        return this.syncPart(m);
      case 'command':
        return this.command(m.id, m.body);
      case 'config.apply':
        // Applied on its own chain: a version that changes the link restarts this very session.
        this.options.config?.apply(m.id, m.body);
        return;
      case 'close':
        this.log.warn('server closed the session', { reason: m.body.reason });
        this.link.restart(`server closed: ${m.body.reason}`);
        return;
      default:
        this.log.warn('message type not expected from the server', { type: m.type });
    }
  }

  /** Runs a remote command and answers it with one `result`; work that must follow the answer runs after it is sent. */
  private async command(id: string, body: CommandBody): Promise<void> {
    const parsed = parseCommandArgs(body.name, body.args);
    let outcome: CommandOutcome;
    if (!parsed.ok) outcome = { result: parsed };
    else if (parsed.value.name === 'resync') {
      const already = this.syncing;
      this.requestSync('the server asked for it (command resync)');
      outcome = { result: { ok: true, value: { requested: true, alreadyUnderWay: already } } };
    } else if (this.commands === null) outcome = { result: { ok: false, error: { code: 'E_UNSUPPORTED', message: `command ${body.name} is not available on this router` } } };
    else {
      try {
        outcome = await this.commands.run(parsed.value);
      } catch (err) {
        outcome = { result: { ok: false, error: { code: 'E_INTERNAL', message: String(err) } } };
      }
    }
    const r = outcome.result;
    const failure = (code: string, message: string): ResultBody => ({ ok: false, error: { code: REPORTABLE_CODE.test(code) ? code : 'E_COMMAND', message: bounded(message, REASON_MAX) } });
    const wanted: ResultBody = r.ok ? { ok: true, data: (r.value ?? null) as never } : failure(r.error.code, r.error.message);
    // Data beyond the result's bound (or not JSON) fails to build: say so rather than not answer.
    const reply = this.send('result', wanted, id) ?? this.send('result', failure('E_TOO_LARGE', `the ${body.name} result does not fit in one message`), id);
    this.remember(id, reply ? [reply] : []);
    outcome.after?.();
  }

  private remember(id: string, replies: Message[]): void {
    this.replies.set(id, replies);
    if (this.replies.size > REMEMBERED_DECISIONS) this.replies.delete(this.replies.keys().next().value as string);
  }

  /** A skipped sequence number or a new server boot: something was lost, so resynchronise. */
  private checkSequence(m: Message): void {
    const last = this.serverSeq.get(m.device);
    this.serverSeq.set(m.device, { session: m.session, seq: m.seq });
    if (!last || m.type === 'accept') return;
    if (last.session !== m.session) this.requestSync('the server restarted');
    else if (m.seq > last.seq + 1) this.requestSync(`messages ${last.seq + 1}..${m.seq - 1} from the server were lost`);
  }

  private checkDesired(digest: string): void {
    const mine = this.held.digest();
    if (mine !== digest && this.accepted) this.requestSync('the desired state differs from what the router holds');
  }

  /** A `config.report`, only on an accepted session (false: not sent, the caller keeps it). */
  sendConfigReport(body: ConfigReportBody, corr: string | undefined): boolean {
    if (!this.accepted) return false;
    return this.send('config.report', body, corr) !== null;
  }

  sendInterfaces(): void {
    const report = this.options.interfaces();
    if (report !== null && this.accepted) this.send('interfaces', report);
  }

  private requestSync(why?: string, retryMs = SYNC_RETRY_FIRST_MS): void {
    if (!this.accepted || this.syncing) return;
    if (why) this.log.info('resynchronising with the server', { reason: why });
    this.syncing = true;
    this.syncParts = [];
    const list = this.held.hashes();
    const count = Math.max(1, Math.ceil(list.length / SYNC_PART));
    for (let index = 0; index < count; index += 1) {
      this.send('sync.request', { version: 0, part: { index, count }, gates: list.slice(index * SYNC_PART, (index + 1) * SYNC_PART) });
    }
    // A request or its answer lost (a broker dropping a full queue, say): ask again, less often each time.
    this.syncTimer = this.host.timers.setTimeout(() => {
      this.syncTimer = null;
      this.syncing = false;
      this.requestSync(`no answer to the sync request in ${retryMs} ms`, Math.min(SYNC_RETRY_MAX_MS, retryMs * 2));
    }, jitter(retryMs));
  }

  private stopSync(): void {
    if (this.syncTimer !== null) this.host.timers.clearTimeout(this.syncTimer as never);
    this.syncTimer = null;
    this.syncing = false;
    this.syncParts = [];
  }

  private async syncPart(m: Extract<Message, { type: 'sync.complete' }>): Promise<void> {
    this.syncParts.push(...m.body.gates);
    if (m.body.part.index !== m.body.part.count - 1) return;
    const desired = new Map(this.syncParts.map((g) => [g.id, g]));
    this.stopSync();
    const installed: string[] = [];
    const inKernel = new Set(this.gates.cloudGates().map((c) => c.gate.id));
    for (const g of desired.values()) {
      if (this.held.hashOf(g.id) === gateHash(g) && inKernel.has(g.id)) {
        installed.push(g.id);
        continue;
      }
      const added = await this.gates.add(toDataplaneGate(g), g.session);
      if (added.ok) {
        this.held.set(g);
        installed.push(g.id);
      } else this.log.warn('gate from the server refused', { gate: g.id, reason: added.error.message });
    }
    const stale = [...new Set([...inKernel, ...this.held.ids()])].filter((id) => !desired.has(id));
    for (const id of stale) await this.endGate(id, 'removed');
    // One report per message-sized part: the server confirms each gate it lists.
    for (let at = 0; at < installed.length; at += MAX_GATES) this.send('report.success', { version: m.body.version, gates: installed.slice(at, at + MAX_GATES) }, m.id);
    this.log.info('resynchronised', { desired: desired.size, removed: stale.length });
  }

  private async install(corr: string, version: number, gates: readonly Gate[]): Promise<Message[]> {
    const done: string[] = [];
    const failed: { id: string; code: string; message: string }[] = [];
    for (const g of gates) {
      const added = await this.gates.add(toDataplaneGate(g), g.session);
      if (added.ok) {
        this.held.set(g);
        done.push(g.id);
      } else failed.push({ id: g.id, code: REPORTABLE_CODE.test(added.error.code) ? added.error.code : 'E_APPLY', message: bounded(added.error.message, REASON_MAX) });
    }
    const replies: (Message | null)[] = [];
    if (done.length > 0) replies.push(this.send('report.success', { version, gates: done }, corr));
    if (failed.length > 0) replies.push(this.send('report.failure', { version, gates: failed }, corr));
    return replies.filter((r): r is Message => r !== null);
  }

  private async removeGates(corr: string, version: number, ids: readonly string[]): Promise<Message[]> {
    for (const id of ids) await this.endGate(id, 'removed');
    const reply = this.send('report.success', { version, gates: [...ids] }, corr);
    return reply ? [reply] : [];
  }

  /** Takes a cloud gate out and reports its final counters. */
  private async endGate(id: string, ended: 'removed' | 'expired'): Promise<void> {
    const gate = this.held.get(id);
    this.held.delete(id);
    const removed = await this.gates.remove(id);
    if (removed.ok && removed.value !== null) this.reportUsage(id, gate?.session, removed.value.usage, ended);
  }

  /** A cloud gate ended without the server asking (its lifetime ran out). */
  gateEnded(id: string, usage: Record<'up' | 'down', { packets: number; bytes: number }>, reason: string): void {
    if (!this.held.has(id)) return;
    const gate = this.held.get(id)!;
    this.held.delete(id);
    const ended = reason === 'expired' ? 'expired' : 'removed';
    this.reportUsage(id, gate.session, usage, ended);
    if (ended === 'expired') this.send('delete', { gates: [id], reason: 'expired' });
  }

  private reportUsage(id: string, session: string | undefined, usage: Record<'up' | 'down', { packets: number; bytes: number }>, ended: Usage['ended']): void {
    const entry: Usage = { id, ...(session !== undefined ? { session } : {}), up: usage.up, down: usage.down, firstSeen: null, lastSeen: null, ...(ended ? { ended } : {}) };
    this.send('report.accounting', { gates: [entry] });
  }

  private startKeepalive(intervalS: number): void {
    if (this.keepaliveTimer !== null) this.host.timers.clearTimeout(this.keepaliveTimer as never);
    const tick = () => {
      this.keepaliveTimer = this.host.timers.setTimeout(tick, intervalS * 1000);
      if (!this.accepted) return;
      // Nothing from the server for three intervals: the link is dead even if the clients run.
      if (this.host.clock.monotonicMs() - this.lastHeardMs > 3 * intervalS * 1000) {
        this.accepted = false;
        this.link.restart('no answer from the server for three keep-alive intervals');
        return;
      }
      this.send('keepalive', {});
    };
    this.keepaliveTimer = this.host.timers.setTimeout(tick, intervalS * 1000);
  }

  stop(): void {
    for (const t of [this.openTimer, this.keepaliveTimer]) if (t !== null) this.host.timers.clearTimeout(t as never);
    this.openTimer = null;
    this.keepaliveTimer = null;
    this.stopSync();
  }
}
