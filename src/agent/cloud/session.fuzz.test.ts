/**
 * The agent's cloud session against 100,000 malformed and mutated downlink messages (seeded, so
 * a failure replays): valid server messages with fields mutated, truncated and garbled text,
 * oversized payloads, sequence gaps. Nothing may escape, every rejection is logged with its code,
 * only valid gates reach the daemon, and afterwards the session still installs and answers.
 */
import { describe, expect, it } from 'vitest';
import { makeMessage, MAX_MESSAGE_BYTES } from '../../core/protocol/envelope.ts';
import type { BodyOf, Message, MessageType } from '../../core/protocol/envelope.ts';
import { gate as gateSchema } from '../../core/protocol/messages/gates.ts';
import { validate } from '../../core/protocol/schema.ts';
import { prng } from '../../../test/support/random.ts';
import { toProtocolGate } from './session.ts';
import { gate, setup, textOf } from './session.test-support.ts';

const SEED = 0x5eed_a9e7;
const N = 100_000;
const DOWN = 'callqos/v1/dev/rtA/down';

describe('agent cloud session fuzz', () => {
  it(`survives ${N.toLocaleString('en')} mutated downlink messages and still works afterwards`, async () => {
    const rand = prng(SEED);
    const logs: string[] = [];
    const t = setup(new Set(), [], logs);
    t.session.started();
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.at(-1)!.id);
    await t.fromServer('sync.complete', { version: 1, part: { index: 0, count: 1 }, gates: [gate('g1', 5000)] }, t.sent.at(-1)!.id);

    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
    let seq = 100;
    const message = <T extends MessageType>(type: T, body: BodyOf<T>, corr?: string): Message => {
      seq += 1 + (rand() < 0.05 ? Math.floor(rand() * 5) : 0); // now and then a gap
      const header = { id: `srv:9:${seq}`, device: 'qos-server-1', session: rand() < 0.01 ? 10 : 9, seq, ts: 1 };
      const m = makeMessage(type, corr === undefined ? header : { ...header, corr }, body);
      if (!m.ok) throw new Error(m.error.message);
      return m.value;
    };
    const templates: (() => Message)[] = [
      () => message('decision.install', { version: seq, gates: [gate(`f${Math.floor(rand() * 50)}`, 6000 + 2 * Math.floor(rand() * 500))] }),
      () => message('decision.modify', { version: seq, gates: [gate('g1', 5000 + 2 * Math.floor(rand() * 10))] }),
      () => message('decision.remove', { version: seq, gates: [`f${Math.floor(rand() * 50)}`] }),
      () => message('sync.complete', { version: seq, part: { index: 0, count: 1 }, gates: [gate('g1', 5000)] }, 'rtA:3:2'),
      () => message('keepalive', {}),
      () => message('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, 'rtA:3:1'),
      () => message('command', { name: 'stats', args: {} }),
    ];
    // Values that break types, ranges and formats, put where a field was.
    const poison: unknown[] = [null, true, -1, 0, 1e300, Number.MAX_SAFE_INTEGER + 2, '', 'x'.repeat(5000), '999.1.1.1', '::g', '../../etc', '$(reboot)', '; nft flush ruleset', [], {}, [1, 2], { id: 'g1' }, 'E_NFT', '\u0000', '\uD800'];
    const mutateValue = (value: unknown, depth: number): unknown => {
      if (depth > 0 && value !== null && typeof value === 'object') {
        const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
        const keys = Object.keys(copy);
        if (keys.length === 0) return pick(poison);
        const key = pick(keys);
        const what = rand();
        if (what < 0.2) delete (copy as Record<string, unknown>)[key];
        else if (what < 0.3) (copy as Record<string, unknown>)[`extra${Math.floor(rand() * 3)}`] = pick(poison);
        else (copy as Record<string, unknown>)[key] = mutateValue((copy as Record<string, unknown>)[key], depth - 1);
        return copy;
      }
      return pick(poison);
    };
    const garble = (text: string): string => {
      const chars = [...text];
      for (let e = 0; e < 1 + Math.floor(rand() * 3); e++) {
        const at = Math.floor(rand() * (chars.length + 1));
        const what = rand();
        if (what < 0.4) chars.splice(at, 1);
        else if (what < 0.7) chars.splice(at, 0, pick(['"', '{', '}', '[', ']', ',', ':', '\\', 'x', '\u0000']));
        else chars.length = at;
      }
      return chars.join('');
    };

    let valid = 0;
    const started = performance.now();
    for (let i = 0; i < N; i++) {
      const m = pick(templates)();
      const what = rand();
      let text: string;
      if (what < 0.3) {
        text = textOf(m);
        valid += 1;
      } else if (what < 0.75) text = JSON.stringify(mutateValue(m, 4));
      else if (what < 0.97) text = garble(textOf(m));
      else text = 'x'.repeat(MAX_MESSAGE_BYTES + 1 + Math.floor(rand() * 1000));
      await t.session.receive(rand() < 0.02 ? 'callqos/v1/dev/rtA/desired' : DOWN, text);
    }
    const ms = performance.now() - started;

    // Only valid gates reached the daemon.
    for (const { gate: held, ref } of t.installed.values()) expect(validate(gateSchema, toProtocolGate(held, ref)).ok).toBe(true);
    const rejections = t.session.rejections;
    const lines = logs.filter((l) => l.includes('message from the server rejected'));
    console.log(`agent fuzz: ${N} messages (${valid} valid) in ${Math.round(ms)} ms; ${rejections.total} rejected by code ${JSON.stringify(rejections.byCode)}; ${lines.length} log lines; ${t.installed.size} gates held, ${t.sent.length} messages sent`);
    expect(rejections.total).toBeGreaterThan(N * 0.5);
    expect(rejections.total).toBeLessThanOrEqual(N - valid);
    // Oversized payloads are among them, refused for their size.
    expect(rejections.byCode.E_TOO_LARGE).toBeGreaterThan(0);
    // Every code is logged, with its reason, and the flood is not: the fake clock stands still, so once per code.
    const loggedCodes = new Set(lines.map((l) => /code=(E_[A-Z_]+)/.exec(l)?.[1]));
    expect([...loggedCodes].sort()).toEqual(Object.keys(rejections.byCode).sort());
    expect(lines.length).toBe(loggedCodes.size);
    for (const line of lines) expect(line).toMatch(/reason=/);

    // Still working: a fresh install is applied and answered, a keepalive taken.
    const install = message('decision.install', { version: seq, gates: [gate('after', 7000)] });
    await t.session.receive(DOWN, textOf(install));
    expect(t.installed.has('after')).toBe(true);
    expect(t.sent.at(-1)).toMatchObject({ type: 'report.success', corr: install.id, body: { gates: ['after'] } });
  }, 120_000);
});
