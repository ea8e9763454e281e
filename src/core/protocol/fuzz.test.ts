/**
 * Fuzzing the message codec with a seeded PRNG: random text, random values, mutations of the
 * valid fixtures that must be rejected (each with the error code its kind implies), and neutral
 * mutations that must decode to the same message. Replay a failure with FUZZ_SEED=<seed>.
 */
import { describe, it, expect } from 'vitest';
import { isIP } from 'node:net';
import { validFixtures } from '../../../test/fixtures/protocol/load.ts';
import { decodeMessage, encodeMessage, validateMessage, type Message } from './envelope.ts';
import { prng, type Rand } from '../../../test/support/random.ts';

/** FUZZ_SEED replays a run; CI uses one fixed seed so that its result is reproducible; elsewhere each run explores anew. */
const SEED =
  process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : process.env.CI ? 20251123 : (Math.random() * 2 ** 32) >>> 0;
let inputs = 0;

// ---- PRNG and helpers ------------------------------------------------------------------------

const below = (rand: Rand, n: number): number => Math.floor(rand() * n);
function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[below(rand, items.length)] as T;
}

function fail(block: string, n: number, what: string, input: unknown): never {
  const shown = typeof input === 'string' ? input : safeJson(input);
  throw new Error(`fuzz failure (FUZZ_SEED=${SEED}, ${block} case ${n}): ${what}\ninput: ${shown.slice(0, 2000)}`);
}
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

// ---- the test's own idea of a sane message ---------------------------------------------------

const TYPES = [
  'open', 'accept', 'close', 'keepalive', 'status', 'interfaces', 'request', 'decision.install', 'decision.modify',
  'decision.remove', 'report.success', 'report.failure', 'report.accounting', 'delete', 'sync.request', 'sync.complete',
  'desired', 'command', 'result', 'session.add', 'session.modify', 'session.delete', 'session.state',
  'auth.request', 'auth.response', 'usage.indication', 'usage.confirmation', 'enrol.request', 'enrol.answer', 'config.apply', 'config.report',
];
const REPLIES = ['accept', 'report.success', 'report.failure', 'sync.complete', 'result', 'auth.response', 'usage.confirmation', 'enrol.answer'];
const HEADER_KEYS = ['v', 'type', 'id', 'corr', 'device', 'session', 'seq', 'ts', 'body'];
const BODY_KEYS = new Set([
  'agentVersion', 'board', 'model', 'name', 'release', 'target', 'capabilities', 'queues', 'ipv6', 'maxGates', 'link', 'upKbps', 'downKbps', 'efBudgetPercent', 'keepaliveS',
  'server', 'accountingS', 'version', 'reason', 'text', 'state', 'since', 'interfaces', 'device', 'role', 'up', 'ipv4',
  'ipv6Prefixes', 'address', 'prefixLength', 'handle', 'flows', 'gates', 'id', 'direction', 'lan', 'remote', 'port', 'dscp',
  'rateKbps', 'lifetimeS', 'session', 'code', 'message', 'down', 'packets', 'bytes', 'firstSeen', 'lastSeen', 'ended',
  'part', 'index', 'count', 'hash', 'digest', 'callId', 'caller', 'callee', 'source', 'media', 'line', 'type', 'offer',
  'answer', 'codec', 'clockRate', 'channels', 'ptimeMs', 'bandwidthKbps', 'wait', 'token', 'lines', 'args', 'ok', 'data', 'error',
  'sourceDevice', 'destinationDevice', 'destinationDomain', 'kbps', 'allowed', 'transactionId', 'validUntilMs', 'maxDurationS',
  'startMs', 'connectMs', 'endMs', 'termination', 'sipStatus', 'releasedBy', 'lost', 'recorded', 'uri',
  'key', 'hardwareId', 'password', 'hostname', 'hardware', 'boardName', 'kernel', 'versions', 'quickjs', 'features', 'cake', 'fqCodel',
  'ctinfo', 'flowOffload', 'nft', 'agent', 'outcome', 'deviceId', 'username', 'detail', 'retryS',
  'sections', 'options', 'lists', 'linkCheckS', 'problems', 'path', 'selfTest', 'table', 'counters',
]);
const wellFormed = (s: string): boolean => {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
};
const plain = (v: object): boolean => Object.getPrototypeOf(v) === Object.prototype && !Array.isArray(v);

/** Necessary conditions any accepted message meets, checked without the code under test. */
function insane(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null || !plain(m)) return 'not a plain object';
  const msg = m as Record<string, unknown>;
  for (const k of Object.keys(msg)) if (!HEADER_KEYS.includes(k)) return `header key ${k}`;
  if (msg.v !== 1) return 'v';
  if (!TYPES.includes(msg.type as string)) return 'type';
  const id = /^[A-Za-z0-9_.:-]{1,64}$/;
  if (!id.test(msg.id as string)) return 'id';
  if ('corr' in msg ? !id.test(msg.corr as string) : REPLIES.includes(msg.type as string)) return 'corr';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(msg.device as string)) return 'device';
  if (!Number.isSafeInteger(msg.session) || (msg.session as number) < 0 || (msg.session as number) > 2 ** 31 - 1) return 'session';
  for (const k of ['seq', 'ts']) if (!Number.isSafeInteger(msg[k]) || (msg[k] as number) < 0) return k;
  if (JSON.stringify(m).length > 256 * 1024) return 'size';
  return walk(msg.body, 'body');
}

function walk(v: unknown, path: string, key = ''): string | undefined {
  if (path === 'body.data') return jsonOnly(v, path, 0);
  if (typeof v === 'string') {
    if (!wellFormed(v) || v.length > (path === 'body.token' ? 4096 : 256)) return `${path}: string`;
    if (key === 'address' && (isIP(v) === 0 || v !== v.toLowerCase())) return `${path}: address`;
    return undefined;
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0 || Object.is(v, -0)) return `${path}: number`;
    // An SDP port of 0 marks a removed stream; every other port is a real one.
    const lowestPort = /\.(offer|answer)\.port$/.test(path) ? 0 : 1;
    if (key === 'port' && (v < lowestPort || v > 65535)) return `${path}: port`;
    if (key === 'dscp' && ![46, 34, 40].includes(v)) return `${path}: dscp`;
    return undefined;
  }
  if (typeof v === 'boolean' || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.length > 64 || Object.keys(v).length !== v.length) return `${path}: array`;
    if (key === 'gates' || key === 'interfaces') {
      const ids = v.map((x) => (typeof x === 'object' && x !== null ? (x as { id?: string; name?: string }).id ?? (x as { name?: string }).name : x));
      if (new Set(ids).size !== ids.length) return `${path}: duplicate`;
    }
    for (let i = 0; i < v.length; i++) {
      const problem = walk(v[i], `${path}[${i}]`, key);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (typeof v !== 'object' || !plain(v)) return `${path}: not JSON`;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const freeKeys = path === 'body.args' || /^body\.sections\[\d+\]\.(options|lists)$/.test(path);
    if (path === 'body.args') {
      if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(k) || typeof o[k] !== 'string') return `${path}.${k}: argument`;
    } else if (freeKeys) {
      // UCI option names (libuci's rule).
      if (!/^[A-Za-z0-9_]{1,64}$/.test(k)) return `${path}.${k}: UCI name`;
    } else if (!BODY_KEYS.has(k)) return `${path}.${k}: unknown key`;
    const problem = walk(o[k], `${path}.${k}`, freeKeys ? '' : k);
    if (problem !== undefined) return problem;
  }
  const lan = o.lan as { address?: string } | undefined;
  const remote = o.remote as { address?: string | null } | undefined;
  if (lan?.address !== undefined && typeof remote?.address === 'string' && isIP(lan.address) !== isIP(remote.address)) {
    return `${path}: families`;
  }
  return undefined;
}

function jsonOnly(v: unknown, path: string, depth: number): string | undefined {
  if (depth > 17) return `${path}: depth`;
  if (v === null || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0) ? undefined : `${path}: number`;
  if (typeof v === 'string') return wellFormed(v) ? undefined : `${path}: string`;
  if (Array.isArray(v)) {
    if (Object.keys(v).length !== v.length) return `${path}: sparse`;
    for (const x of v) {
      const p = jsonOnly(x, path, depth + 1);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  if (typeof v !== 'object' || !plain(v)) return `${path}: not JSON`;
  for (const [k, x] of Object.entries(v)) {
    if (k === '__proto__') return `${path}: __proto__`;
    const p = jsonOnly(x, path, depth + 1);
    if (p !== undefined) return p;
  }
  return undefined;
}

/** An accepted message must be sane and survive encode -> decode unchanged. */
function checkAccepted(block: string, n: number, msg: Message, input: unknown): void {
  const problem = insane(msg);
  if (problem !== undefined) fail(block, n, `accepted an insane message (${problem})`, input);
  const text = encodeMessage(msg);
  if (!text.ok) fail(block, n, `accepted but cannot encode: ${text.error.code} ${text.error.path}`, input);
  const again = decodeMessage(text.value);
  if (!again.ok) fail(block, n, `encoded text does not decode: ${again.error.code} ${again.error.path}`, text.value);
  if (!deepEqual(again.value, msg)) fail(block, n, 'decode(encode(x)) differs from x', input);
  const text2 = encodeMessage(again.value);
  if (!text2.ok || text2.value !== text.value) fail(block, n, 'encoding is not stable', input);
}

function decodeNoThrow(block: string, n: number, text: string): ReturnType<typeof decodeMessage> {
  inputs++;
  try {
    return decodeMessage(text);
  } catch (e) {
    return fail(block, n, `decodeMessage threw ${String(e)}`, text);
  }
}

// ---- inputs ----------------------------------------------------------------------------------

const fixtures = validFixtures().map((f) => {
  const r = decodeMessage(f.text);
  if (!r.ok) throw new Error(`fixture ${f.name} does not decode`);
  const canonical = encodeMessage(r.value);
  if (!canonical.ok) throw new Error(`fixture ${f.name} does not encode`);
  return { name: f.name, text: f.text, value: f.value, decoded: r.value, canonical: canonical.value };
});

const TOKENS = [
  '{', '}', '[', ']', ':', ',', '"v"', '"type"', '"id"', '"body"', '"gates"', '"keepalive"', '"open"', '"device"', '"seq"',
  '1', '0', '-0', '1e400', '-1', '1.5', '46', '65536', 'null', 'true', 'false', '"x"', '"\\ud800"', '"__proto__"', '" "',
  ' ', '\n', '"', '\\', 'NaN', '""', '"192.168.1.1"', '"::1"', '{}', '[]', '"corr"', '"ts"', '"session"', '\u0000', '\ufeff',
];
const STRINGS = [
  '', 'x', 'keepalive', 'open', 'result', 'decision.install', 'owrt-1', 'owrt-1:1:1', '192.168.1.23', '2001:db8::23', '::',
  '0.0.0.0', '::ffff:1.2.3.4', 'both', 'up', 'wan', 'lan', 'htb', 'E_X', '__proto__', 'constructor', 'a'.repeat(70), '\ud800',
  'call-1', 'br-lan', 'shutdown', 'b725d1497b671ce7',
];
const KEYS = [...HEADER_KEYS, ...BODY_KEYS, '__proto__', 'constructor', 'toString', 'x', '', 'ID'];

function randomValue(rand: Rand, depth: number): unknown {
  const r = rand();
  if (depth <= 0 || r < 0.45) {
    const k = below(rand, 10);
    if (k === 0) return null;
    if (k === 1) return rand() < 0.5;
    if (k === 2) return pick(rand, [0, 1, -1, 46, 34, 40, 65535, 65536, 2 ** 31, 2 ** 53, -0, 0.5, NaN, Infinity, 1e21]);
    if (k === 3) return below(rand, 100000);
    return pick(rand, STRINGS);
  }
  if (r < 0.65) {
    const length = below(rand, 5);
    const a: unknown[] = [];
    for (let i = 0; i < length; i++) a.push(randomValue(rand, depth - 1));
    if (rand() < 0.05) a.length += 2; // sparse
    return a;
  }
  if (r < 0.7) return pick(rand, [new Date(0), new Map(), Object.create(null) as object, new (class X {})()]);
  const o: Record<string, unknown> = rand() < 0.1 ? (Object.create(null) as Record<string, unknown>) : {};
  const n = below(rand, 7);
  for (let i = 0; i < n; i++) {
    Object.defineProperty(o, pick(rand, KEYS), { value: randomValue(rand, depth - 1), enumerable: true, writable: true, configurable: true });
  }
  return o;
}

interface Node {
  parent: Record<string, unknown> | unknown[] | undefined;
  key: string | number;
  value: unknown;
  /** Path with indices as []: body.gates[].lan.port */
  g: string;
}

function nodes(root: unknown): Node[] {
  const out: Node[] = [{ parent: undefined, key: '', value: root, g: '' }];
  const visit = (v: unknown, g: string): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i, value: x, g: `${g}[]` });
        visit(x, `${g}[]`);
      });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        const gk = g === '' ? k : `${g}.${k}`;
        out.push({ parent: v as Record<string, unknown>, key: k, value: x, g: gk });
        visit(x, gk);
      }
    }
  };
  visit(root, '');
  return out;
}

const insideData = (g: string): boolean => g.startsWith('body.data.') || g.startsWith('body.data[');
const isArg = (g: string): boolean => g.startsWith('body.args.') || /^body\.sections\[\]\.(options|lists)\./.test(g);
const OPTIONAL = new Set([
  'body.hostname', 'body.retryS', 'body.problems', 'body.selfTest', 'body.sections',
  'body.handle', 'body.gates[].session', 'body.flows[].session', 'body.gates[].ended', 'body.wait', 'body.token', 'body.reason',
  'body.media[].codec.channels', 'body.media[].codec.ptimeMs', 'body.media[].codec.bandwidthKbps',
  'body.caller.uri', 'body.callee.uri', 'body.releasedBy', 'body.sipStatus',
]);
const NULLABLE = new Set(['body.sections[].name', 
  'body.gates[].remote.address', 'body.gates[].remote.port', 'body.flows[].remote.address', 'body.flows[].remote.port',
  'body.interfaces[].device', 'body.gates[].firstSeen', 'body.gates[].lastSeen', 'body.data', 'body.caller.source',
  'body.callee.source', 'body.reason', 'body.lines[].reason',
  // clearinghouse messages (a token is optional in session.add, nullable in auth.response)
  'body.sourceDevice', 'body.destinationDevice', 'body.destinationDomain', 'body.transactionId', 'body.token', 'body.validUntilMs',
  'body.maxDurationS', 'body.connectMs', 'body.termination.sipStatus', 'body.termination.reason', 'body.codec', 'body.flows[].lost',
  'body.error',
]);
const MAY_BE_EMPTY = new Set([
  // What a router could not find out about itself is empty (enrol.request).
  'body.hardware.model', 'body.hardware.boardName', 'body.hardware.release', 'body.hardware.target', 'body.hardware.kernel', 'body.versions.quickjs', 'body.features.nft', 'body.hostname','body.text', 'body.gates[].message', 'body.error.message']);
const UNIQUE_LISTS = new Set(['body.gates', 'body.interfaces', 'body.capabilities.queues', 'body.media']);
const LIMITS: Record<string, number> = {
  'body.gates': 64, 'body.flows': 64, 'body.interfaces': 64,
  'body.interfaces[].ipv4': 16, 'body.interfaces[].ipv6': 16, 'body.interfaces[].ipv6Prefixes': 16,
};
const BAD_ADDRESSES = ['1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '::1::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'gggg::1', '[::1]', ' ::1', ''];

type Mutated = { text: string; codes: readonly string[]; what: string } | undefined;
type Mutation = (msg: Record<string, unknown>, rand: Rand, type: string) => Mutated;

function set(node: Node, value: unknown): void {
  if (node.parent === undefined) return;
  if (Array.isArray(node.parent)) node.parent[node.key as number] = value;
  else Object.defineProperty(node.parent, node.key, { value, enumerable: true, writable: true, configurable: true });
}
function choose(msg: unknown, rand: Rand, ok: (n: Node) => boolean): Node | undefined {
  const candidates = nodes(msg).filter((n) => n.parent !== undefined && ok(n));
  return candidates.length === 0 ? undefined : pick(rand, candidates);
}
function mutated(msg: unknown, codes: readonly string[], what: string): Mutated {
  return { text: JSON.stringify(msg), codes, what };
}
function otherType(v: unknown, rand: Rand): unknown {
  if (typeof v === 'string') return pick(rand, [7, true, {}, []]);
  if (typeof v === 'number') return pick(rand, [String(v), true, {}, []]);
  if (typeof v === 'boolean') return pick(rand, [0, 'true', {}, []]);
  if (Array.isArray(v)) return pick(rand, [{}, 'x', 1]);
  return pick(rand, [[], 'x', 1, true]);
}
function corrupt(address: string, rand: Rand): string {
  let s = address;
  for (let tries = 0; tries < 20; tries++) {
    const at = below(rand, s.length + 1);
    const c = pick(rand, [...'0123456789abcdefg:.:. x%']);
    const op = rand();
    s = op < 0.4 ? s.slice(0, at) + c + s.slice(at) : op < 0.7 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + c + s.slice(at + 1);
    if (isIP(s) === 0) return s;
  }
  return pick(rand, BAD_ADDRESSES);
}

/** Each of these makes the message invalid, with one of the listed codes. */
const MUTATIONS: Record<string, Mutation> = {
  deleteRequired(msg, rand, type) {
    const n = choose(msg, rand, (x) => !Array.isArray(x.parent) && !insideData(x.g) && !isArg(x.g) && !OPTIONAL.has(x.g) && !(x.g === 'corr' && !REPLIES.includes(type)));
    if (n === undefined) return undefined;
    delete (n.parent as Record<string, unknown>)[n.key];
    return mutated(msg, ['E_REQUIRED'], `delete ${n.g}`);
  },
  wrongType(msg, rand) {
    const n = choose(msg, rand, (x) => x.value !== null && !insideData(x.g) && x.g !== 'body.data');
    if (n === undefined) return undefined;
    set(n, otherType(n.value, rand));
    return mutated(msg, n.g === 'v' ? ['E_VERSION'] : ['E_TYPE'], `retype ${n.g}`);
  },
  outOfRange(msg, rand) {
    const n = choose(msg, rand, (x) => typeof x.value === 'number' && !insideData(x.g));
    if (n === undefined) return undefined;
    set(n, pick(rand, [-1, 0.5, -0.5, 2 ** 53, 1e21, 1e308]));
    return mutated(msg, ['E_RANGE', 'E_TYPE', 'E_ENUM', 'E_VERSION'], `out of range ${n.g}`);
  },
  unknownKey(msg, rand) {
    const n = nodes(msg).filter((x) => typeof x.value === 'object' && x.value !== null && !Array.isArray(x.value) && !insideData(x.g) && x.g !== 'body.data' && x.g !== 'body.args' && !/^body\.sections\[\]\.(options|lists)$/.test(x.g));
    const target = pick(rand, n).value as Record<string, unknown>;
    const key = pick(rand, ['x', 'extra', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', ' ', 'ID', 'v2', `k${below(rand, 1e6)}`]);
    if (Object.prototype.hasOwnProperty.call(target, key)) return undefined;
    Object.defineProperty(target, key, { value: randomValue(rand, 1), enumerable: true, writable: true, configurable: true });
    return mutated(msg, ['E_UNKNOWN_FIELD'], `add key ${JSON.stringify(key)}`);
  },
  corruptAddress(msg, rand) {
    const n = choose(msg, rand, (x) => x.key === 'address' && typeof x.value === 'string');
    if (n === undefined) return undefined;
    set(n, corrupt(n.value as string, rand));
    return mutated(msg, ['E_FORMAT'], `corrupt ${n.g}`);
  },
  duplicate(msg, rand) {
    const n = choose(msg, rand, (x) => UNIQUE_LISTS.has(x.g) && Array.isArray(x.value) && x.value.length > 0);
    if (n === undefined) return undefined;
    const list = n.value as unknown[];
    list.splice(below(rand, list.length + 1), 0, clone(pick(rand, list)));
    return mutated(msg, ['E_DUPLICATE', 'E_LENGTH'], `duplicate in ${n.g}`);
  },
  overfill(msg, rand) {
    const n = choose(msg, rand, (x) => x.g in LIMITS && Array.isArray(x.value) && x.value.length > 0);
    if (n === undefined) return undefined;
    const list = n.value as unknown[];
    const template = pick(rand, list);
    for (let i = list.length; i <= (LIMITS[n.g] as number); i++) {
      const item = clone(template);
      if (typeof item === 'string') list.push(`fz-${i}`);
      else {
        const o = item as Record<string, unknown>;
        if ('id' in o) o.id = `fz-${i}`;
        if ('name' in o) o.name = `fz_${i}`;
        list.push(o);
      }
    }
    return mutated(msg, ['E_LENGTH'], `overfill ${n.g}`);
  },
  familyMismatch(msg, rand) {
    const n = choose(msg, rand, (x) => ((x.g.endsWith('remote.address') || x.g.endsWith('answer.address')) && typeof x.value === 'string') || /\.ipv4\[\]\.address$|\.ipv6\[\]\.address$/.test(x.g));
    if (n === undefined) return undefined;
    set(n, isIP(n.value as string) === 4 ? pick(rand, ['2001:db8::77', '::ffff:198.51.100.77']) : pick(rand, ['198.51.100.77', '10.0.0.1']));
    return mutated(msg, ['E_FAMILY'], `family of ${n.g}`);
  },
  setNull(msg, rand) {
    const n = choose(msg, rand, (x) => x.value !== null && !insideData(x.g) && !NULLABLE.has(x.g));
    if (n === undefined) return undefined;
    set(n, null);
    return mutated(msg, n.g === 'v' ? ['E_VERSION'] : ['E_TYPE'], `null ${n.g}`);
  },
  overlong(msg, rand) {
    const n = choose(msg, rand, (x) => typeof x.value === 'string' && !insideData(x.g));
    if (n === undefined) return undefined;
    // A token may be 4096 characters; every other string at most 256.
    set(n, (n.value as string) + 'x'.repeat((n.g === 'body.token' ? 4097 : 257) + below(rand, 2000)));
    return mutated(msg, ['E_LENGTH', 'E_FORMAT', 'E_ENUM', 'E_UNKNOWN_TYPE'], `lengthen ${n.g}`);
  },
  emptyString(msg, rand) {
    const n = choose(msg, rand, (x) => typeof x.value === 'string' && !insideData(x.g) && !isArg(x.g) && !MAY_BE_EMPTY.has(x.g));
    if (n === undefined) return undefined;
    set(n, '');
    return mutated(msg, ['E_LENGTH', 'E_FORMAT', 'E_ENUM', 'E_UNKNOWN_TYPE'], `empty ${n.g}`);
  },
  changeVersion(msg, rand) {
    msg.v = pick(rand, [0, 2, -1, 1.5, '1', null, true, [1], {}, 1e21]);
    return mutated(msg, ['E_VERSION'], `v = ${safeJson(msg.v)}`);
  },
  unknownType(msg, rand) {
    msg.type = pick(rand, ['', 'Open', 'decision', 'decision.insert', 'report', 'keepalive ', ' open', 'KEEPALIVE', 'sync', `t${below(rand, 1e6)}`]);
    return mutated(msg, ['E_UNKNOWN_TYPE'], `type = ${safeJson(msg.type)}`);
  },
  truncate(msg, rand) {
    const text = JSON.stringify(msg);
    return { text: text.slice(0, below(rand, text.lastIndexOf('}'))), codes: ['E_JSON'], what: 'truncate' };
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

// ---- neutral re-spelling ------------------------------------------------------------------------

function spaces(rand: Rand): string {
  return rand() < 0.6 ? '' : pick(rand, [' ', '\n', '\t', '\r\n  ', '  ']);
}
function spellString(s: string, rand: Rand): string {
  let out = '"';
  for (const ch of s) {
    if (rand() < 0.15) {
      for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    } else out += ch === '/' && rand() < 0.5 ? '\\/' : JSON.stringify(ch).slice(1, -1);
  }
  return `${out}"`;
}
function spellNumber(n: number, rand: Rand): string {
  if (!Number.isInteger(n) || rand() < 0.6) return String(n);
  return n === 0 ? pick(rand, ['-0', '0.0', '0e5', '-0.0E-2']) : pick(rand, [`${n}.0`, `${n}e0`, `${n}0e-1`, `${n}.000`, `${n}E+0`]);
}
/** Another RFC 4291 spelling of an address: leading zeros, upper case, a different `::`, a dotted tail. */
function respellAddress(a: string, rand: Rand): string {
  if (isIP(a) !== 6) return a;
  const url = new URL(`http://[${a}]/`).hostname.slice(1, -1); // pure hex groups, to expand
  const [head = '', tail = ''] = url.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = url.includes('::') ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  let words = groups.map((g) => {
    const padded = g.padStart(Math.max(g.length, below(rand, 5)), '0');
    return rand() < 0.5 ? padded.toUpperCase() : padded;
  });
  let dotted = '';
  if (rand() < 0.3) {
    const v = parseInt(groups[6] as string, 16) * 65536 + parseInt(groups[7] as string, 16);
    dotted = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
    words = words.slice(0, 6);
  }
  const zeroRuns: [number, number][] = [];
  for (let i = 0; i < words.length; i++) {
    if (parseInt(words[i] as string, 16) !== 0) continue;
    let j = i;
    while (j < words.length && parseInt(words[j] as string, 16) === 0) j++;
    zeroRuns.push([i, j]);
    i = j;
  }
  let text = words.join(':');
  if (zeroRuns.length > 0 && rand() < 0.7) {
    const [s, e] = pick(rand, zeroRuns);
    const from = s + below(rand, e - s);
    const to = from + 1 + below(rand, e - from);
    text = `${words.slice(0, from).join(':')}::${words.slice(to).join(':')}`;
    if (dotted !== '') return to === 6 ? `${text}${dotted}` : `${text}:${dotted}`;
    return text;
  }
  return dotted === '' ? text : `${text}:${dotted}`;
}
function spell(v: unknown, rand: Rand, key: string): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return spellNumber(v, rand);
  if (typeof v === 'string') return spellString(key === 'address' ? respellAddress(v, rand) : v, rand);
  if (Array.isArray(v)) return `[${spaces(rand)}${v.map((x) => spell(x, rand, key) + spaces(rand)).join(`,${spaces(rand)}`)}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = below(rand, i + 1);
    [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
  }
  const parts = entries.map(([k, x]) => `${spaces(rand)}${spellString(k, rand)}${spaces(rand)}:${spaces(rand)}${spell(x, rand, k)}${spaces(rand)}`);
  return `{${parts.join(',')}${parts.length === 0 ? spaces(rand) : ''}}`;
}

// ---- the runs ------------------------------------------------------------------------------------

describe(`protocol fuzz (FUZZ_SEED=${SEED})`, () => {
  it('(a) random text and bytes never throw; anything accepted is sane and round-trips', () => {
    const rand = prng(SEED ^ 0xa);
    let accepted = 0;
    for (let n = 0; n < 36000; n++) {
      let text: string;
      const kind = n % 6;
      if (kind === 0) {
        text = '';
        const count = below(rand, 40);
        for (let i = 0; i < count; i++) text += pick(rand, TOKENS);
      } else if (kind === 1 || kind === 2) {
        const bytes = new Uint8Array(below(rand, 300));
        for (let i = 0; i < bytes.length; i++) bytes[i] = below(rand, 256);
        text = Buffer.from(bytes).toString(kind === 1 ? 'latin1' : 'utf8');
      } else if (kind === 3) {
        const f = pick(rand, fixtures).text;
        const a = below(rand, f.length);
        text = f.slice(a, a + below(rand, f.length - a + 1));
      } else if (kind === 4) {
        let f = pick(rand, fixtures).canonical;
        const edits = 1 + below(rand, 3);
        for (let e = 0; e < edits; e++) {
          const at = below(rand, f.length);
          f = f.slice(0, at) + String.fromCharCode(32 + below(rand, 95)) + f.slice(at + 1);
        }
        text = f;
      } else {
        text = safeJson(randomValue(rand, 5));
      }
      const r = decodeNoThrow('a', n, text);
      if (r.ok) {
        accepted++;
        checkAccepted('a', n, r.value, text);
      }
    }
    expect(accepted).toBeGreaterThan(0); // single-character edits of fixtures do land on valid messages
  });

  it('(b) random values of random shapes never throw; anything accepted is sane and round-trips', () => {
    const rand = prng(SEED ^ 0xb);
    for (let n = 0; n < 26000; n++) {
      let value: unknown;
      if (n % 2 === 0) {
        value = randomValue(rand, 6);
        if (rand() < 0.7 && typeof value === 'object' && value !== null && !Array.isArray(value)) {
          Object.assign(value, { v: pick(rand, [1, 1, 1, 2]), type: pick(rand, [...TYPES, 'x']), id: 'a', device: 'd', session: 0, seq: 0, ts: 0 });
        }
      } else {
        value = clone(pick(rand, fixtures).value);
        const target = pick(rand, nodes(value).filter((x) => x.parent !== undefined));
        set(target, randomValue(rand, 3));
      }
      inputs++;
      let r: ReturnType<typeof validateMessage>;
      try {
        r = validateMessage(value);
      } catch (e) {
        fail('b', n, `validateMessage threw ${String(e)}`, value);
      }
      if (r.ok) checkAccepted('b', n, r.value, value);
      const text = safeJson(value);
      const d = decodeNoThrow('b', n, text);
      if (d.ok) checkAccepted('b', n, d.value, text);
    }
  });

  it('(c) typed mutations of valid fixtures are rejected with the code their kind implies', () => {
    const rand = prng(SEED ^ 0xc);
    const applied: Record<string, number> = {};
    for (let n = 0; n < 32000; n++) {
      const f = pick(rand, fixtures);
      const msg = clone(f.value);
      const name = pick(rand, MUTATION_NAMES);
      const m = (MUTATIONS[name] as Mutation)(msg, rand, f.name);
      if (m === undefined) {
        n--;
        continue;
      }
      applied[name] = (applied[name] ?? 0) + 1;
      const r = decodeNoThrow('c', n, m.text);
      if (r.ok) fail('c', n, `${f.name}: ${m.what} was accepted`, m.text);
      if (!m.codes.includes(r.error.code)) {
        fail('c', n, `${f.name}: ${m.what} gave ${r.error.code} at ${r.error.path}, expected ${m.codes.join('|')}`, m.text);
      }
    }
    for (const name of MUTATION_NAMES) expect(applied[name], name).toBeGreaterThan(500);
  });

  it('(d) neutral re-spellings (key order, whitespace, escapes, number and address forms) decode equal', () => {
    const rand = prng(SEED ^ 0xd);
    for (let n = 0; n < 12000; n++) {
      const f = pick(rand, fixtures);
      const text = spell(f.value, rand, '');
      const r = decodeNoThrow('d', n, text);
      if (!r.ok) fail('d', n, `${f.name}: neutral re-spelling rejected: ${r.error.code} at ${r.error.path}: ${r.error.message}`, text);
      // equal values; not equal text, since free-form result data keeps its own key order
      if (!deepEqual(r.value, f.decoded)) fail('d', n, `${f.name}: neutral re-spelling decoded to a different message`, text);
      checkAccepted('d', n, r.value, text);
    }
  });

  it('ran at least 100,000 inputs', () => {
    expect(inputs).toBeGreaterThanOrEqual(100000);
  });
});
