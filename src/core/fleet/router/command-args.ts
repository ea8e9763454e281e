/**
 * The arguments of the fleet's remote commands (src/core/protocol/messages/fleet.ts), checked on
 * the router before anything runs. Arguments arrive as strings; each command takes exactly the
 * ones listed here, and a refusal is E_ARG with `path` = the argument's name and a message that
 * names it. A test gate is checked by the same gate schema the local `gate_add` uses, so that
 * nothing unchecked reaches nft.
 */
import { DIRECTIONS, gate as gateSchema, type Direction } from '../../protocol/messages/gates.ts';
import type { CommandName } from '../../protocol/messages/fleet.ts';
import { validate } from '../../protocol/schema.ts';
import { fail, ok, type Result } from '../../result.ts';
import type { DataplaneGate } from '../../dataplane/model.ts';

/** Most parts a diagnostics collection is cut into (each under DIAGNOSTICS_PART_BYTES of JSON). */
export const DIAGNOSTICS_MAX_PARTS = 64;
/** A test gate's lifetime: at least the gate schema's minimum lifetime, at most ten minutes. */
export const TEST_GATE_MIN_S = 10;
export const TEST_GATE_MAX_S = 600;
/** What a test gate polices EF to: room for one wideband voice flow. */
export const TEST_GATE_RATE_KBPS = 128;
export const TEST_GATE_DSCP = 46;

export interface TestGateArgs {
  readonly lanAddress: string;
  readonly lanPort: number;
  readonly remoteAddress: string | null;
  readonly remotePort: number | null;
  readonly direction: Direction;
  readonly seconds: number;
}

export type CommandArgs =
  | { readonly name: Exclude<CommandName, 'diagnostics' | 'test-gate'> }
  | { readonly name: 'diagnostics'; readonly part: number }
  | { readonly name: 'test-gate'; readonly gate: TestGateArgs };

/** The arguments each command takes: [name, required]. */
const TAKES: Record<CommandName, readonly (readonly [string, boolean])[]> = {
  status: [], reload: [], gates: [], stats: [], interfaces: [], resync: [], restart: [], 'rotate-credentials': [],
  diagnostics: [['part', false]],
  'test-gate': [['lanAddress', true], ['lanPort', true], ['remoteAddress', false], ['remotePort', false], ['direction', true], ['seconds', true]],
};

const argError = (name: string, message: string): Result<never> => fail({ code: 'E_ARG', message: `argument ${name}: ${message}`, path: name });

/** A decimal integer without sign, leading zeros or spaces, within [min, max]. */
function integer(name: string, text: string, min: number, max: number): Result<number> {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text)) return argError(name, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(text.slice(0, 32))}`);
  const value = Number(text);
  return value >= min && value <= max ? ok(value) : argError(name, `must be from ${min} to ${max}, not ${value}`);
}

export function parseCommandArgs(name: CommandName, args: Readonly<Record<string, string>>): Result<CommandArgs> {
  const takes = TAKES[name];
  for (const key of Object.keys(args)) {
    if (!takes.some(([known]) => known === key)) {
      return argError(key, takes.length === 0 ? `${name} takes no arguments` : `${name} takes ${takes.map(([k]) => k).join(', ')}`);
    }
  }
  for (const [key, required] of takes) if (required && args[key] === undefined) return argError(key, `required by ${name}`);
  switch (name) {
    case 'diagnostics': {
      if (args.part === undefined) return ok({ name, part: 0 });
      const part = integer('part', args.part, 0, DIAGNOSTICS_MAX_PARTS - 1);
      return part.ok ? ok({ name, part: part.value }) : part;
    }
    case 'test-gate': {
      const gate = parseTestGate(args);
      return gate.ok ? ok({ name, gate: gate.value }) : gate;
    }
    default:
      return ok({ name });
  }
}

function parseTestGate(args: Readonly<Record<string, string>>): Result<TestGateArgs> {
  const lanPort = integer('lanPort', args.lanPort!, 1, 65535);
  if (!lanPort.ok) return lanPort;
  const remotePort = args.remotePort === undefined ? ok(null) : integer('remotePort', args.remotePort, 1, 65535);
  if (!remotePort.ok) return remotePort;
  const seconds = integer('seconds', args.seconds!, TEST_GATE_MIN_S, TEST_GATE_MAX_S);
  if (!seconds.ok) return seconds;
  const direction = args.direction!;
  if (!(DIRECTIONS as readonly string[]).includes(direction)) return argError('direction', `must be one of ${DIRECTIONS.join(', ')}`);
  const parsed: TestGateArgs = {
    lanAddress: args.lanAddress!,
    lanPort: lanPort.value,
    remoteAddress: args.remoteAddress ?? null,
    remotePort: remotePort.value,
    direction: direction as Direction,
    seconds: seconds.value,
  };
  // The addresses (and their family) by the gate schema itself, as `gate_add` checks them.
  const checked = validate(gateSchema, testGate('test-check', parsed));
  if (!checked.ok) {
    const path = checked.error.path ?? '';
    const arg = path.startsWith('lan.address') ? 'lanAddress' : path.startsWith('remote.address') ? 'remoteAddress' : path.startsWith('lan') ? 'lanPort' : path.startsWith('remote') ? 'remotePort' : 'lanAddress';
    return argError(arg, checked.error.message);
  }
  return ok(parsed);
}

/** The gate a test gate installs, in the protocol's form (what the gate schema checks). */
export function testGate(id: string, g: TestGateArgs) {
  return {
    id,
    direction: g.direction,
    lan: { address: g.lanAddress, port: g.lanPort },
    remote: { address: g.remoteAddress, port: g.remotePort },
    dscp: TEST_GATE_DSCP,
    rateKbps: TEST_GATE_RATE_KBPS,
    lifetimeS: g.seconds,
  };
}

/** The same gate for the data plane. */
export function testDataplaneGate(id: string, g: TestGateArgs): DataplaneGate {
  const p = testGate(id, g);
  return { id, direction: p.direction, lan: p.lan, remote: p.remote, dscp: p.dscp, rateKbit: p.rateKbps, lifetimeS: p.lifetimeS };
}

// ---- diagnostics in parts -----------------------------------------------------------------

/** The JSON of one part's text stays under this (the result's data may be 64 KiB). */
export const DIAGNOSTICS_PART_BYTES = 56 * 1024;

export interface DiagnosticsSection {
  readonly name: string;
  readonly text: string;
}

export interface DiagnosticsPart {
  readonly part: number;
  readonly parts: number;
  /** The section the text belongs to (a long section runs over several parts). */
  readonly name: string;
  readonly text: string;
}

/** JSON-encoded length of a string (escapes counted), without its quotes. */
const encodedLength = (text: string): number => JSON.stringify(text).length - 2;

/** Cuts each section into pieces whose encoded text stays under `limit`, at line ends where it can. */
export function splitDiagnostics(sections: readonly DiagnosticsSection[], limit = DIAGNOSTICS_PART_BYTES, maxParts = DIAGNOSTICS_MAX_PARTS): DiagnosticsPart[] {
  const pieces: { name: string; text: string }[] = [];
  for (const section of sections) {
    let current = '';
    let size = 0;
    const flush = () => {
      pieces.push({ name: section.name, text: current });
      current = '';
      size = 0;
    };
    // Each line with its newline (no lookbehind: older QuickJS builds lack it).
    const lines = section.text.split('\n').map((line, i, all) => (i < all.length - 1 ? `${line}\n` : line));
    for (const line of lines) {
      let rest = line;
      while (rest.length > 0) {
        const room = limit - size;
        const whole = encodedLength(rest);
        if (whole <= room) {
          current += rest;
          size += whole;
          rest = '';
          continue;
        }
        if (size > 0) {
          flush();
          continue;
        }
        // One line longer than a part: cut it where its encoding fills the part.
        let take = Math.min(rest.length, room);
        while (take > 1 && encodedLength(rest.slice(0, take)) > room) take = Math.floor(take / 2);
        current = rest.slice(0, take);
        size = encodedLength(current);
        rest = rest.slice(take);
        flush();
      }
    }
    if (size > 0 || pieces.every((p) => p.name !== section.name)) flush();
  }
  const kept = pieces.slice(0, maxParts);
  if (pieces.length > maxParts) {
    const last = kept[maxParts - 1]!;
    kept[maxParts - 1] = { name: last.name, text: `(cut: ${pieces.length - maxParts + 1} more parts were not sent)\n` };
  }
  return kept.map((p, part) => ({ part, parts: kept.length, name: p.name, text: p.text }));
}
