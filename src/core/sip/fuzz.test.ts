/**
 * 20,000 mutated messages (byte flips, truncation, duplication, insertion of random and of
 * SIP-significant text) from a seeded PRNG, so a failing case replays: FUZZ_SEED=<n>. Nothing may
 * throw; every refusal has an E_SIP_ code; what is accepted serialises and parses back the same.
 */
import { describe, expect, it } from 'vitest';
import { prng, type Rand } from '../../../test/support/random.ts';
import { validSipFixtures } from '../../../test/fixtures/sip/load.ts';
import { parseContact, parseCSeq, parseExpires, parseMaxForwards, parseNameAddr, parseSipUri, parseVia, parseViaList } from './headers.ts';
import { parseSipMessage, serializeSipMessage, type SipMessage } from './message.ts';
import { createSipStreamParser } from './stream.ts';

const seeds = Object.values(validSipFixtures());
const PIECES = [':', ';', ',', '<', '>', '"', '\\', '\r\n', '\n', '\r', ' ', '\t', '\r\n ', '\r\n\r\n', 'SIP/2.0', '0', '99999999999', '@', '[', ']', '%', '%4', 'é', '\x00', 'Via: ', 'l: 3'];

function mutate(rand: Rand, text: string): string {
  const pick = (n: number) => Math.floor(rand() * n);
  const edits = 1 + pick(4);
  for (let e = 0; e < edits; e++) {
    const at = pick(text.length + 1);
    const byte = String.fromCharCode(pick(256));
    const op = rand();
    if (op < 0.25) text = text.slice(0, at) + (rand() < 0.5 ? byte : PIECES[pick(PIECES.length)]!) + text.slice(at); // insertion
    else if (op < 0.45) text = text.slice(0, at) + text.slice(at + 1 + pick(8)); // deletion
    else if (op < 0.7) text = text.slice(0, at) + byte + text.slice(at + 1); // byte flip
    else if (op < 0.8) text = text.slice(0, at); // truncation
    else text = text.slice(0, at) + text.slice(at, at + 1 + pick(60)) + text.slice(at); // duplication
  }
  return text;
}

/** Runs `f`, turning a throw into a test failure that shows the input. */
function noThrow<T>(what: string, input: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new Error(`${what} threw ${String(err)} on ${JSON.stringify(input.slice(0, 300))}`);
  }
}

const sameHeaders = (m: SipMessage) => m.headers.map((h) => [h.name, h.value]);

describe('SIP fuzzing', () => {
  it('never throws on 20,000 mutated messages; refusals have codes; what it accepts round-trips', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261124);
    const rand = prng(seed);
    const codes = new Map<string, number>();
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      const text = mutate(rand, seeds[Math.floor(rand() * seeds.length)]!);
      const r = noThrow(`case ${n} (seed ${seed}) parseSipMessage`, text, () => parseSipMessage(text));
      if (!r.ok) {
        if (!/^E_SIP_[A-Z_]+$/.test(r.error.code) || r.error.message === '') throw new Error(`case ${n}: refusal without a code: ${JSON.stringify(r.error)}`);
        codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
        continue;
      }
      accepted++;
      noThrow(`case ${n} header parsers`, text, () => {
        for (const h of r.value.headers) {
          // Header parsers never throw either, whatever they get.
          for (const parse of [parseVia, parseViaList, parseNameAddr, parseContact, parseCSeq, parseMaxForwards, parseExpires, parseSipUri]) {
            const out = parse(h.value);
            if (!out.ok && !/^E_SIP_/.test(out.error.code)) throw new Error(`header parser gave ${out.error.code}`);
          }
        }
      });
      const bytes = noThrow(`case ${n} serializeSipMessage`, text, () => serializeSipMessage(r.value));
      const again = parseSipMessage(bytes);
      if (!again.ok) throw new Error(`case ${n}: accepted, but its serialisation is refused: ${again.error.code} ${again.error.message} ${JSON.stringify(bytes.slice(0, 300))}`);
      // Byte for byte: the raw headers and a right Content-Length make the second pass a fixpoint.
      if (serializeSipMessage(again.value) !== bytes) throw new Error(`case ${n}: serialisation is not stable`);
      if (again.value.body !== r.value.body || JSON.stringify(sameHeaders(again.value).filter(([k]) => k !== 'Content-Length')) !== JSON.stringify(sameHeaders(r.value).filter(([k]) => k !== 'Content-Length'))) {
        throw new Error(`case ${n}: round trip changed the message: ${JSON.stringify(text.slice(0, 300))}`);
      }
    }
    // Enough must survive for the round trip to mean something, and enough must fail in many ways.
    expect(accepted).toBeGreaterThan(2000);
    // Five message-level codes: all but E_SIP_TOO_LARGE, which small mutated messages cannot reach.
    expect([...codes.keys()].sort()).toEqual(['E_SIP_CONTENT_LENGTH', 'E_SIP_CSEQ', 'E_SIP_HEADER', 'E_SIP_MISSING_HEADER', 'E_SIP_START_LINE']);
  });

  it('never throws on mutated streams cut into random chunks, and never holds more than the limit', () => {
    const rand = prng(Number(process.env.FUZZ_SEED ?? 20261124) + 1);
    for (let n = 0; n < 500; n++) {
      const parts = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => (rand() < 0.2 ? '\r\n\r\n' : '') + seeds[Math.floor(rand() * seeds.length)]!);
      const stream = mutate(rand, parts.join(''));
      const parser = createSipStreamParser({ maxMessageBytes: 4096 });
      for (let i = 0; i < stream.length; ) {
        const size = 1 + Math.floor(rand() * 300);
        const out = noThrow(`stream ${n}`, stream, () => parser.push(stream.slice(i, i + size)));
        for (const r of out.results) if (!r.ok) expect(r.error.code).toMatch(/^E_SIP_/);
        expect(parser.buffered).toBeLessThanOrEqual(4096 + 300);
        i += size;
      }
    }
  });
});
