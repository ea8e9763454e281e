/**
 * Fuzzing the ubus parsers with a seeded PRNG: mutated dumps, boards and event lines (values
 * swapped for odd ones, keys dropped or added, text cut and flipped) and exotic objects must never
 * throw, and every refusal must be a clear E_UBUS_* error with a path. Replay a failure with
 * FUZZ_SEED=<seed>.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { interfacesBody } from '../protocol/messages/interfaces.ts';
import { validate } from '../protocol/schema.ts';
import { parseStrictJson } from '../protocol/strict-json.ts';
import { parseBoard } from './board.ts';
import { parseInterfaceDump } from './dump.ts';
import { parseListenLine } from './events.ts';
import { buildInterfaceReport, sameReport } from './report.ts';
import { prng, type Rand } from '../../../test/support/random.ts';

const SEED =
  process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : process.env.CI ? 20261123 : (Math.random() * 2 ** 32) >>> 0;

const below = (rand: Rand, n: number) => Math.floor(rand() * n);
const pick = <T>(rand: Rand, items: readonly T[]): T => items[below(rand, items.length)] as T;

const text = (name: string) => readFileSync(new URL(`../../../test/fixtures/ubus/${name}`, import.meta.url), 'utf8');
const DUMPS = ['dump-dual-stack.json', 'dump-wan-down.json', 'dump-pppoe.json'].map(text);
const BOARD = text('board.json');
const EVENTS = [
  '{ "network.interface": {"action":"ifup","interface":"wan"} }',
  '{ "network.interface": {"action":"ifdown","interface":"wan6"} }',
  '{ "interface.update": {"interface":"wan6","up":true} }',
  '{ "ubus.object.add": {"id":1,"path":"network.interface.wan_6"} }',
];
const ROLES = { wan: ['wan', 'wan6'], lan: ['lan', 'guest'] };

const ODD: readonly unknown[] = [
  null, true, false, 0, -1, 1.5, 2 ** 53, '', 'x', '::', '::1', 'fe80::1', '0.0.0.0', '255.255.255.255', '224.0.0.1',
  '10.0.0.1', '2001:db8::/56', '1.2.3.4%eth0', 'br#lan', 'a'.repeat(300), '\ud800', [], {}, [[]], { address: '10.0.0.1' },
];
const KEYS = ['interface', 'up', 'l3_device', 'ipv4-address', 'ipv6-address', 'ipv6-prefix', 'ipv6-prefix-assignment',
  'local-address', 'address', 'mask', 'dynamic', 'release', 'hostname', '__proto__', 'constructor', 'action'];

type Container = Record<string, unknown> | unknown[];

/** Every object and array inside `value`, with itself first. */
function containers(value: unknown, out: Container[] = []): Container[] {
  if (typeof value !== 'object' || value === null) return out;
  out.push(value as Container);
  for (const child of Object.values(value)) containers(child, out);
  return out;
}

function mutateValue(root: unknown, rand: Rand): unknown {
  const all = containers(root);
  for (let n = 1 + below(rand, 3); n > 0; n--) {
    const target = pick(rand, all);
    const keys = Object.keys(target);
    const key = keys.length > 0 ? pick(rand, keys) : '0';
    const record = target as Record<string, unknown>;
    switch (below(rand, 4)) {
      case 0:
        record[key] = pick(rand, ODD);
        break;
      case 1:
        if (Array.isArray(target)) target.splice(Number(key), 1);
        else delete record[key];
        break;
      case 2:
        if (Array.isArray(target)) target.push(pick(rand, ODD));
        else Object.defineProperty(target, pick(rand, KEYS), { value: pick(rand, ODD), enumerable: true, configurable: true, writable: true });
        break;
      default:
        if (Array.isArray(target)) target.push(structuredClone(target[0]));
        else record[key] = structuredClone(pick(rand, all));
    }
  }
  return root;
}

function mutateText(input: string, rand: Rand): string {
  const at = below(rand, input.length + 1);
  switch (below(rand, 4)) {
    case 0:
      return input.slice(0, at);
    case 1:
      return input.slice(0, at) + input.slice(at + 1 + below(rand, 20));
    case 2:
      return input.slice(0, at) + pick(rand, ['{', '}', '[', ']', '"', ',', ':', '\\', '\\x41', '-01', '1.', '\u0000', '☎']) + input.slice(at);
    default:
      return input.slice(0, at) + String.fromCharCode(below(rand, 128)) + input.slice(at + 1);
  }
}

function fail(n: number, what: string, input: unknown): never {
  let shown: string;
  try {
    shown = typeof input === 'string' ? input : (JSON.stringify(input) ?? String(input));
  } catch {
    shown = String(input);
  }
  throw new Error(`fuzz failure (FUZZ_SEED=${SEED}, case ${n}): ${what}\ninput: ${shown.slice(0, 1500)}`);
}

/** A refusal must carry its code, a message and a path that the message names. */
function checkRefusal(n: number, error: { code: string; message: string; path?: string }, codes: readonly string[], input: unknown): void {
  if (!codes.includes(error.code)) fail(n, `unexpected code ${error.code}`, input);
  if (typeof error.message !== 'string' || error.message.length === 0) fail(n, 'empty message', input);
  if (typeof error.path !== 'string') fail(n, 'no path', input);
  if (error.path !== '' && !error.message.includes(error.path)) fail(n, `message does not name path ${error.path}`, input);
}

function checkDump(n: number, value: unknown): 'accepted' | 'refused' {
  let parsed;
  try {
    parsed = parseInterfaceDump(value);
  } catch (err) {
    fail(n, `parseInterfaceDump threw ${String(err)}`, value);
  }
  if (!parsed.ok) {
    checkRefusal(n, parsed.error, ['E_UBUS_SHAPE'], value);
    return 'refused';
  }
  let built;
  try {
    built = buildInterfaceReport(parsed.value, ROLES, 1);
  } catch (err) {
    fail(n, `buildInterfaceReport threw ${String(err)}`, value);
  }
  if (!built.ok) {
    checkRefusal(n, built.error, ['E_UBUS_REPORT'], value);
    return 'refused';
  }
  if (!validate(interfacesBody, built.value).ok) fail(n, 'report fails the protocol schema', value);
  if (!sameReport(built.value, built.value)) fail(n, 'report differs from itself', value);
  return 'accepted';
}

describe(`ubus parsers fuzz (FUZZ_SEED=${SEED})`, () => {
  it('mutated dumps never throw; refusals name a path', () => {
    const rand = prng(SEED);
    const seen = { accepted: 0, refused: 0 };
    for (let n = 0; n < 4000; n++) {
      const base = pick(rand, DUMPS);
      let input: unknown;
      if (rand() < 0.7) input = mutateValue(JSON.parse(base), rand);
      else {
        const r = parseStrictJson(mutateText(base, rand));
        if (!r.ok) continue;
        input = r.value;
      }
      seen[checkDump(n, input)]++;
    }
    // Both outcomes occur, so the run covers accepting and refusing.
    expect(seen.accepted).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });

  it('exotic objects never throw', () => {
    const throwing = new Proxy({}, { ownKeys: () => { throw new Error('boom'); }, getPrototypeOf: () => Object.prototype });
    const getter = { get interface() { throw new Error('boom'); } };
    const sparse = { interface: [, { interface: 'lan', up: true }] };
    const inputs: unknown[] = [undefined, NaN, Symbol('x'), () => 1, throwing, getter, sparse, Object.create(null), new Date(),
      { interface: [Object.assign(Object.create(null), { interface: 'lan', up: true })] }, JSON.parse('{"__proto__":{"interface":[]}}')];
    inputs.forEach((input, n) => {
      checkDump(n, input);
      const board = parseBoard(input);
      if (!board.ok) checkRefusal(n, board.error, ['E_UBUS_SHAPE'], input);
    });
  });

  it('mutated boards and event lines never throw', () => {
    const rand = prng(SEED ^ 0x5eed);
    for (let n = 0; n < 3000; n++) {
      const boardInput = rand() < 0.5 ? mutateValue(JSON.parse(BOARD), rand) : parseStrictJson(mutateText(BOARD, rand));
      try {
        const r = parseBoard(boardInput);
        if (!r.ok) checkRefusal(n, r.error, ['E_UBUS_SHAPE'], boardInput);
      } catch (err) {
        fail(n, `parseBoard threw ${String(err)}`, boardInput);
      }
      const line = rand() < 0.5 ? mutateText(pick(rand, EVENTS), rand) : JSON.stringify(mutateValue(JSON.parse(pick(rand, EVENTS)), rand));
      try {
        const r = parseListenLine(line);
        if (!r.ok) checkRefusal(n, r.error, ['E_UBUS_JSON', 'E_UBUS_SHAPE'], line);
        else if (r.value !== null && !['ifup', 'ifdown', 'update'].includes(r.value.action)) fail(n, 'odd action', line);
      } catch (err) {
        fail(n, `parseListenLine threw ${String(err)}`, line);
      }
    }
  });
});
