import { describe, expect, it } from 'vitest';
import { validFixtures } from '../../../test/fixtures/protocol/load.ts';
import { prng } from '../../../test/support/random.ts';
import { createLogger } from '../../core/log.ts';
import { validateMessage, type Message } from '../../core/protocol/envelope.ts';
import { Inbound } from './inbound.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));

function recorder() {
  const seen: Array<{ kind: 'device' | 'cc'; from: string; message: Message }> = [];
  return {
    seen,
    handlers: {
      device: async (from: string, message: Message) => void seen.push({ kind: 'device', from, message }),
      callControl: async (from: string, message: Message) => void seen.push({ kind: 'cc', from, message }),
    },
  };
}

describe(`server inbound (FUZZ_SEED=${SEED})`, () => {
  const fixtures = validFixtures();
  const deviceTypes = new Set(['open', 'keepalive', 'status', 'interfaces', 'report.success', 'report.failure', 'report.accounting', 'delete', 'sync.request', 'close', 'result', 'request']);

  it('hands valid messages to the handler of their topic, in order per sender', async () => {
    const r = recorder();
    const logs: string[] = [];
    const inbound = new Inbound(r.handlers, createLogger((l) => logs.push(l), 'debug'));
    for (const f of fixtures) {
      const cc = f.name.startsWith('session.');
      const topic = cc ? `callqos/v1/cc/${f.value.device as string}/req` : `callqos/v1/dev/${f.value.device as string}/up`;
      await inbound.receive(topic, f.text);
    }
    expect(r.seen.filter((s) => s.kind === 'cc').map((s) => s.message.type).sort()).toEqual(['session.add', 'session.delete', 'session.modify', 'session.state']);
    expect(r.seen.length).toBe(fixtures.length);
    expect(inbound.stats).toMatchObject({ received: fixtures.length, handled: fixtures.length, rejected: 0 });
  });

  it('drops what arrives on a topic it does not take, whatever the text', async () => {
    const r = recorder();
    const inbound = new Inbound(r.handlers, createLogger(() => {}, 'error'));
    const open = fixtures.find((f) => f.name === 'open')!;
    for (const topic of ['callqos/v1/dev/owrt-9c3a1f/down', 'callqos/v1/dev/owrt-9c3a1f/desired', 'callqos/v1/cc/x/res', 'callqos/v1/ch/x/req', 'callqos/v1/ch/x/res', 'callqos/v2/dev/a/up', 'x', '']) {
      await inbound.receive(topic, open.text);
    }
    expect(r.seen).toHaveLength(0);
    expect(inbound.stats.rejectedBy.E_TOPIC).toBe(8);
  });

  it('takes enrolment requests only with an enrolment handler, and hands an invalid one to be answered', async () => {
    const text = JSON.stringify({ v: 1, type: 'enrol.request', id: 'hw-1:1:1', device: 'hw-1', session: 1, seq: 1, ts: 1, body: { key: 'short' } });
    const without = new Inbound(recorder().handlers, createLogger(() => {}, 'error'));
    await without.receive('callqos/v1/enrol/hw-1/req', text);
    expect(without.stats.rejectedBy.E_TOPIC).toBe(1);

    const enrolled: Array<{ from: string; type: string }> = [];
    const invalid: Array<{ from: string; path: string | undefined }> = [];
    const inbound = new Inbound(
      {
        ...recorder().handlers,
        enrol: async (from, message) => void enrolled.push({ from, type: message.type }),
        invalidEnrol: (from, _text, error) => void invalid.push({ from, path: error.path }),
      },
      createLogger(() => {}, 'error'),
    );
    await inbound.receive('callqos/v1/enrol/hw-1/req', text);
    expect(invalid).toEqual([{ from: 'hw-1', path: expect.stringMatching(/^body\./) as string }]);
    const open = fixtures.find((f) => f.name === 'open')!;
    await inbound.receive('callqos/v1/enrol/hw-1/req', open.text);
    expect(enrolled).toEqual([{ from: 'hw-1', type: 'open' }]);
    // Answers are the server's to send, never a request to take.
    await inbound.receive('callqos/v1/enrol/hw-1/res', open.text);
    expect(inbound.stats.rejectedBy.E_TOPIC).toBe(1);
  });

  it('survives 100,000 mutated messages: only valid messages reach a handler, and a rejection is logged at most once a second per code', async () => {
    const rand = prng(SEED);
    const r = recorder();
    const logs: string[] = [];
    let clock = 0;
    const inbound = new Inbound(r.handlers, createLogger((l) => logs.push(l), 'warn'), () => clock);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
    const mutate = (text: string): string => {
      const chars = [...text];
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (chars.length + 1));
        const what = rand();
        if (what < 0.3) chars.splice(at, 1);
        else if (what < 0.6) chars.splice(at, 0, pick(['"', '{', '}', '[', ']', ',', ':', '0', '-', 'e', '\\', '\u0000', '\uD800', 'x', ' ']));
        else if (what < 0.8) chars[at] = String.fromCharCode(Math.floor(rand() * 0x3000));
        else chars.length = at;
      }
      return chars.join('');
    };
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      clock += 1;
      const f = pick(fixtures);
      const text = rand() < 0.05 ? 'x'.repeat(Math.floor(rand() * 300_000)) : mutate(f.text);
      await inbound.receive(`callqos/v1/dev/${f.value.device as string}/up`, text);
    }
    expect(inbound.stats.received).toBe(N);
    expect(inbound.stats.handled + inbound.stats.rejected).toBe(N);
    expect(inbound.stats.rejected).toBeGreaterThan(N * 0.8);
    expect(inbound.stats.failed).toBe(0);
    for (const s of r.seen) expect(validateMessage(s.message).ok).toBe(true);
    // 100,000 messages over 100 simulated seconds: at most one line per second per code.
    const perCode = new Map<string, number>();
    for (const line of logs) {
      const code = /code=(\S+)/.exec(line)?.[1] ?? '';
      perCode.set(code, (perCode.get(code) ?? 0) + 1);
    }
    for (const count of perCode.values()) expect(count).toBeLessThanOrEqual(101);
    console.log(`inbound fuzz: ${N} messages, ${inbound.stats.rejected} rejected, ${inbound.stats.handled} valid handled, ${logs.length} log lines; by code ${JSON.stringify(inbound.stats.rejectedBy)}`);
    // Still working afterwards.
    const before = r.seen.length;
    const open = fixtures.find((f) => f.name === 'open')!;
    await inbound.receive('callqos/v1/dev/owrt-9c3a1f/up', open.text);
    expect(r.seen.length).toBe(before + 1);
    expect(deviceTypes.has(r.seen.at(-1)!.message.type)).toBe(true);
  }, 120_000);
});
