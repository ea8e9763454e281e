import { describe, expect, it } from 'vitest';
import { validSipFixtures } from '../../../test/fixtures/sip/load.ts';
import { headerValue, type SipMessage } from './message.ts';
import { createSipStreamParser, SipStreamFramer } from './stream.ts';

const valid = validSipFixtures();
const invite = valid['invite-sdp']!;
const bye = valid['bye']!;
const compactWithBody = valid['torture-compact']!;

/** Feeds `stream` in pieces of `size` and collects what comes out. */
function feed(stream: string, size: number) {
  const parser = createSipStreamParser();
  const messages: SipMessage[] = [];
  const errors: string[] = [];
  let pings = 0;
  for (let i = 0; i < stream.length; i += size) {
    const out = parser.push(stream.slice(i, i + size));
    pings += out.pings;
    for (const r of out.results) {
      if (r.ok) messages.push(r.value);
      else errors.push(r.error.code);
    }
  }
  return { parser, messages, errors, pings };
}

describe('createSipStreamParser', () => {
  it('cuts and parses messages out of chunks split anywhere, with CRLF keep-alives between them', () => {
    const stream = `\r\n\r\n${invite}\r\n${bye}${compactWithBody}\r\n\r\n\r\n\r\n`;
    for (const size of [1, 2, 3, 7, 64, 1000, stream.length]) {
      const { parser, messages, errors, pings } = feed(stream, size);
      expect(errors, `chunks of ${size}`).toEqual([]);
      expect(messages.map((m) => headerValue(m, 'CSeq')), `chunks of ${size}`).toEqual(['314159 INVITE', '314160 BYE', '3 MESSAGE']);
      expect(messages[2]!.body).toBe('hello\r\n');
      expect(pings, `chunks of ${size}`).toBe(3);
      expect(parser.buffered).toBe(0);
      expect(parser.state).toEqual({ phase: 'between', crlfRun: 0 });
    }
  });

  it('shows its state as data while a message is under way', () => {
    const parser = createSipStreamParser();
    parser.push('\r\n');
    expect(parser.state).toEqual({ phase: 'between', crlfRun: 1 });
    parser.push(invite.slice(0, 20));
    expect(parser.state.phase).toBe('head');
    const headEnd = invite.indexOf('\r\n\r\n') + 4;
    parser.push(invite.slice(20, headEnd + 5));
    expect(parser.state).toEqual({ phase: 'body', total: invite.length });
    expect(parser.buffered).toBe(headEnd + 5);
    const out = parser.push(invite.slice(headEnd + 5));
    expect(out.results).toHaveLength(1);
    expect(parser.state).toEqual({ phase: 'between', crlfRun: 0 });
  });

  it('reports a message that frames but does not parse, and goes on with the next', () => {
    const broken = bye.replace('Call-ID: a84b4c76e66710@pc33.a.example.net\r\n', '');
    const { messages, errors } = feed(`${broken}${bye}`, 50);
    expect(errors).toEqual(['E_SIP_MISSING_HEADER']);
    expect(messages).toHaveLength(1);
  });

  it('ends the stream on a message without Content-Length, one past the size limit, or a head that never ends', () => {
    const noLength = valid['compact-folded']!;
    const first = createSipStreamParser().push(`${bye}${noLength}`);
    expect(first.results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'E_SIP_CONTENT_LENGTH']);
    const parser = createSipStreamParser();
    expect(parser.push('OPTIONS sip:x SIP/2.0\r\nContent-Length: 9999999\r\n\r\n').results).toMatchObject([{ ok: false, error: { code: 'E_SIP_TOO_LARGE' } }]);
    expect(parser.state.phase).toBe('failed');
    expect(parser.push(bye).results).toMatchObject([{ ok: false, error: { code: 'E_SIP_TOO_LARGE' } }]);
    expect(parser.buffered).toBe(0);
    const endless = createSipStreamParser({ maxMessageBytes: 4096 });
    let last: readonly unknown[] = [];
    for (let i = 0; i < 100 && last.length === 0; i++) last = endless.push('X-Filler: 0123456789abcdef0123456789abcdef\r\n').results;
    expect(last).toMatchObject([{ ok: false, error: { code: 'E_SIP_TOO_LARGE' } }]);
    expect(createSipStreamParser().push(bye.replace('Content-Length: 0', 'Content-Length: 0\r\nl: 2')).results).toMatchObject([{ ok: false, error: { code: 'E_SIP_CONTENT_LENGTH' } }]);
  });

  it('reads a folded or compact Content-Length from the head', () => {
    const folded = bye.replace('Content-Length: 0', 'Content-Length:\r\n 4') + 'abcd';
    const compact = bye.replace('Content-Length: 0', 'l: 2') + 'xy';
    const { messages, errors } = feed(folded + compact, 9);
    expect(errors).toEqual([]);
    expect(messages.map((m) => m.body)).toEqual(['abcd', 'xy']);
  });

  it('frames a byte-by-byte head in linear time (the search resumes, it does not restart)', () => {
    const parser = createSipStreamParser();
    const head = `OPTIONS sip:x@example.net SIP/2.0\r\n${'X-Pad: 0123456789012345678901234567890123456789\r\n'.repeat(1200)}`;
    const started = Date.now();
    for (let i = 0; i < head.length; i++) parser.push(head[i]!);
    expect(parser.state.phase).toBe('head');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('SipStreamFramer (raw framing, as the TCP transport uses it)', () => {
  it('gives the raw message texts and the ping count, or the framing error', () => {
    const framer = new SipStreamFramer();
    const r = framer.push(`\r\n\r\n${invite}${bye.slice(0, 10)}`);
    expect(r).toEqual({ ok: true, value: { messages: [invite], pings: 1 } });
    expect(framer.push(bye.slice(10))).toEqual({ ok: true, value: { messages: [bye], pings: 0 } });
    expect(new SipStreamFramer().push('x'.repeat(70_000))).toMatchObject({ ok: false, error: { code: 'E_SIP_TOO_LARGE' } });
    expect(new SipStreamFramer({ maxMessageBytes: 100 }).push(invite)).toMatchObject({ ok: false, error: { code: 'E_SIP_TOO_LARGE' } });
  });
});
