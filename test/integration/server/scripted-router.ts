/**
 * A router's side of the protocol played by the test over a real MQTT connection: it opens,
 * reports interfaces, and answers decisions as the test tells it to (or not at all), so the
 * server's handling of every report, a silent router and a resync can be checked.
 */
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import type { ServerMqttClient } from '../../../src/cloud/mqtt/client.ts';
import { decodeMessage, encodeMessage, makeMessage } from '../../../src/core/protocol/envelope.ts';
import type { BodyOf, Message, MessageType } from '../../../src/core/protocol/envelope.ts';
import type { InterfaceEntry } from '../../../src/core/protocol/messages/interfaces.ts';
import { TOPIC_ROOT, deviceTopic } from '../../../src/core/protocol/topics.ts';
import { EXPECTED_WITHIN_MS } from '../../support/wait.ts';

export type DecisionMode = 'succeed' | 'fail' | 'silent';

export class ScriptedRouter {
  readonly received: Message[] = [];
  /** What the router holds, by gate id, as the decisions left it. */
  readonly gates = new Map<string, BodyOf<'decision.install'>['gates'][number]>();
  mode: DecisionMode = 'succeed';
  /** When set, a removal is answered as the agent does: the gates' final usage first, then the success report. */
  removalUsage: ((gate: BodyOf<'decision.install'>['gates'][number]) => { up: { packets: number; bytes: number }; down: { packets: number; bytes: number } }) | null = null;
  private client!: ServerMqttClient;
  /** Messages this router published (its uplink), for checking that each reached one server once. */
  seq = 0;
  private waiters: Array<{ test: (m: Message) => boolean; resolve: (m: Message) => void; timer: ReturnType<typeof setTimeout> }> = [];
  /** Answers sent from the message handler, which nobody awaits: close() waits for them. */
  private readonly answering = new Set<Promise<unknown>>();
  /** The first answer that failed to go out; close() throws it, so the test that caused it fails. */
  private answerError: unknown = null;
  /** Set by close(): a router going away answers nothing more. */
  private closing = false;

  constructor(
    readonly id: string,
    readonly boot = 1,
    /** Its domain's tree on a broker several domains share. */
    readonly root = TOPIC_ROOT,
  ) {}

  async connect(url: string, password?: string): Promise<void> {
    const quiet = { info: () => {}, warn: () => {} };
    this.client = await connectServerMqtt({ url, clientId: this.id, username: this.id, password, protocolVersion: 4, log: quiet });
    await this.client.subscribe(deviceTopic(this.id, 'down', this.root), (_t, text) => this.onMessage(text));
    await this.client.subscribe(deviceTopic(this.id, 'desired', this.root), (_t, text) => this.onMessage(text));
  }

  private onMessage(text: string): void {
    const decoded = decodeMessage(text);
    if (!decoded.ok) throw new Error(`router ${this.id} got an invalid message: ${decoded.error.message}`);
    const m = decoded.value;
    this.received.push(m);
    if (m.type === 'decision.install' || m.type === 'decision.modify') {
      if (this.mode === 'succeed') {
        for (const g of m.body.gates) this.gates.set(g.id, g);
        this.answer(() => this.send('report.success', { version: m.body.version, gates: m.body.gates.map((g) => g.id) }, m.id));
      } else if (this.mode === 'fail') {
        this.answer(() => this.send('report.failure', { version: m.body.version, gates: m.body.gates.map((g) => ({ id: g.id, code: 'E_APPLY', message: 'nft refused the batch' })) }, m.id));
      }
    } else if (m.type === 'decision.remove' && this.mode !== 'silent') {
      const usage = this.removalUsage;
      const ended = m.body.gates.flatMap((id) => {
        const gate = this.gates.get(id);
        return gate && usage ? [{ id, ...(gate.session !== undefined ? { session: gate.session } : {}), ...usage(gate), firstSeen: 1, lastSeen: 2, ended: 'removed' as const }] : [];
      });
      for (const id of m.body.gates) this.gates.delete(id);
      this.answer(async () => {
        if (ended.length > 0) await this.send('report.accounting', { gates: ended });
        await this.send('report.success', { version: m.body.version, gates: m.body.gates }, m.id);
      });
    }
    for (const w of [...this.waiters]) {
      if (w.test(m)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  /** The next received message of this type (or one already received, if `past`). */
  next<T extends MessageType>(type: T, timeoutMs = EXPECTED_WITHIN_MS): Promise<Extract<Message, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`router ${this.id}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        timer,
        test: (m) => m.type === type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<Message, { type: T }>);
        },
      });
    });
  }

  async send<T extends MessageType>(type: T, body: BodyOf<T>, corr?: string): Promise<Message> {
    this.seq += 1;
    const header = { id: `${this.id}:${this.boot}:${this.seq}`, device: this.id, session: this.boot, seq: this.seq, ts: Date.now() };
    const built = makeMessage(type, corr === undefined ? header : { ...header, corr }, body);
    if (!built.ok) throw new Error(`cannot build ${type}: ${built.error.message}`);
    const text = encodeMessage(built.value);
    if (!text.ok) throw new Error(text.error.message);
    await this.client.publishAsync(deviceTopic(this.id, 'up', this.root), text.value);
    return built.value;
  }

  /** open, wait for accept, then the interface report. */
  async open(interfaces: InterfaceEntry[], link = { upKbps: 20000, downKbps: 100000, efBudgetPercent: 30 }): Promise<BodyOf<'accept'>> {
    const accepted = this.next('accept');
    await this.send('open', {
      agentVersion: '0.1.0',
      board: { model: 'Lab Router', name: 'lab,router', release: 'OpenWrt 23.05.3', target: 'x86/64' },
      capabilities: { queues: ['htb'], ipv6: true, maxGates: 256 },
      link,
      keepaliveS: 30,
    });
    const accept = await accepted;
    await this.send('interfaces', { version: 1, interfaces });
    return accept.body;
  }

  private answer(send: () => Promise<unknown>): void {
    if (this.closing) return;
    const sending = send();
    this.answering.add(sending);
    const settled = () => this.answering.delete(sending);
    sending.then(settled, (error: unknown) => {
      settled();
      this.answerError ??= error;
    });
  }

  /** Waits for the answers still going out, then disconnects; an answer that failed fails here. */
  async close(): Promise<void> {
    this.closing = true;
    // A wait a failed test left behind would fail a later one with its timeout: it ends here.
    for (const w of this.waiters.splice(0)) clearTimeout(w.timer);
    await Promise.allSettled([...this.answering]);
    await this.client.close();
    if (this.answerError !== null) throw this.answerError instanceof Error ? this.answerError : new Error(String(this.answerError));
  }
}

export function lanInterfaces(lan4: string, lan6: string, wan4: string): InterfaceEntry[] {
  return [
    { name: 'lan', device: 'br-lan', role: 'lan', up: true, ipv4: [{ address: lan4, prefixLength: 24 }], ipv6: [{ address: lan6, prefixLength: 64 }], ipv6Prefixes: [] },
    { name: 'wan', device: 'wan', role: 'wan', up: true, ipv4: [{ address: wan4, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] },
  ];
}
