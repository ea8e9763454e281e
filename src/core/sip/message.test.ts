import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invalidSipFixtures, loadSip, SIP_FIXTURES, validSipFixtures } from '../../../test/fixtures/sip/load.ts';
import { parseCSeq, parseNameAddr, parseVia } from './headers.ts';
import { headerValue, headerValues, parseSipMessage, serializeSipMessage, splitList, withHeaders, type SipMessage, type SipRequest } from './message.ts';

const valid = validSipFixtures();
const invalid = invalidSipFixtures();

function parsed(text: string, name = 'message'): SipMessage {
  const r = parseSipMessage(text);
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`);
  return r.value;
}
const fixture = (name: string) => parsed(valid[name]!, name);
/** The same message with its headers stripped of raw text, as code would build it. */
const built = (m: SipMessage): SipMessage => ({ ...m, headers: m.headers.map(({ name, value }) => ({ name, value })) });

describe('parseSipMessage on the valid fixtures', () => {
  it('has fixtures to read', () => {
    expect(Object.keys(valid).length).toBeGreaterThanOrEqual(12);
  });

  it('parses an INVITE with SDP: request line, headers in order, body by Content-Length', () => {
    const m = fixture('invite-sdp');
    expect(m).toMatchObject({ kind: 'request', method: 'INVITE', uri: 'sip:bob@b.example.net' });
    expect(m.headers.map((h) => h.name)).toEqual(['Via', 'Max-Forwards', 'To', 'From', 'Call-ID', 'CSeq', 'Contact', 'Content-Type', 'Content-Length']);
    expect(headerValue(m, 'call-id')).toBe('a84b4c76e66710@pc33.a.example.net');
    expect(m.body.startsWith('v=0\r\no=alice')).toBe(true);
    expect(m.body.length).toBe(Number(headerValue(m, 'Content-Length')));
    const via = parseVia(headerValues(m, 'Via')[0]!);
    expect(via.ok && via.value).toMatchObject({ transport: 'UDP', host: '192.168.1.20', port: 5060, branch: 'z9hG4bK776asdhds', rport: 'requested' });
    const from = parseNameAddr(headerValue(m, 'From')!);
    expect(from.ok && from.value.displayName).toBe('Alice A.');
    expect(from.ok && from.value.params.get('tag')).toBe('1928301774');
    expect(from.ok && from.value.uri).toMatchObject({ scheme: 'sip', user: 'alice', host: 'a.example.net', port: null });
  });

  it('parses a response with two Vias in one header, received/rport, and an IPv6 Contact', () => {
    const m = fixture('response-200-sdp');
    expect(m).toMatchObject({ kind: 'response', status: 200, reason: 'OK' });
    const vias = headerValues(m, 'Via').map((v) => parseVia(v));
    expect(vias.map((v) => v.ok && v.value.received)).toEqual(['203.0.113.5', '203.0.113.1']);
    expect(vias[1]!.ok && vias[1]!.value.rport).toBe(50611);
    const contact = parseNameAddr(headerValue(m, 'Contact')!);
    expect(contact.ok && contact.value.uri).toMatchObject({ host: '2001:db8:b:1::20', port: 5062 });
    expect(contact.ok && contact.value.uri!.params.get('transport')).toBe('tcp');
    expect(parseCSeq(headerValue(m, 'CSeq')!)).toEqual({ ok: true, value: { seq: 314159, method: 'INVITE' } });
  });

  it('expands compact names, joins folded lines, takes odd spacing, and splits lists outside quotes and brackets', () => {
    const m = fixture('compact-folded');
    expect(m.headers.map((h) => h.name)).toEqual(['Via', 'Via', 'To', 'From', 'Call-ID', 'CSeq', 'Max-Forwards', 'Supported', 'Subject']);
    expect(headerValues(m, 'v').map((v) => parseVia(v)).map((v) => v.ok && `${v.value.transport} ${v.value.host}:${v.value.port}`)).toEqual([
      'UDP 2001:db8:a:1::21:5070', 'TCP proxy.example.net:null', 'UDP 10.0.0.1:5060',
    ]);
    const from = parseNameAddr(headerValue(m, 'f')!);
    expect(from.ok && [from.value.displayName, from.value.params.get('tag')]).toEqual(['Dave "the" Tester', 'xyz']);
    expect(headerValue(m, 'Subject')).toBe('line one line two');
    expect(m.body).toBe('');
    expect(splitList('"a, b" <sip:x@y;p=1,2>;q=1, <sip:z@w>')).toEqual(['"a, b" <sip:x@y;p=1,2>;q=1', '<sip:z@w>']);
  });

  it('reads Contact lists with header parameters, and keeps ACK and CANCEL with their own CSeq method', () => {
    const contacts = headerValues(fixture('register'), 'Contact').map((c) => parseNameAddr(c));
    expect(contacts.map((c) => c.ok && [c.value.uri?.host, c.value.params.get('expires') ?? c.value.params.get('q')])).toEqual([
      ['192.168.1.21', '7200'], ['2001:db8:a:1::21', '0.5'],
    ]);
    expect(fixture('ack')).toMatchObject({ method: 'ACK' });
    expect(headerValue(fixture('ack'), 'CSeq')).toBe('314159 ACK');
    expect(fixture('cancel')).toMatchObject({ method: 'CANCEL' });
  });

  it('keeps each header\'s raw text: name spelling, spacing and folding as received', () => {
    const m = fixture('compact-folded');
    expect(m.headers[1]!.raw).toBe('V:SIP/2.0/TCP   proxy.example.net;branch=z9hG4bK-2 ,\r\n  SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-3');
    expect(m.headers[5]!.raw).toBe('CSeq   :   7   OPTIONS');
    expect(m.headers[5]!.value).toBe('7   OPTIONS');
  });
});

describe('serializeSipMessage', () => {
  it('writes every valid fixture back byte for byte (raw headers kept, Content-Length right)', () => {
    for (const [name, text] of Object.entries(valid)) {
      const out = serializeSipMessage(fixture(name));
      // compact-folded has no Content-Length: the serialiser adds one, after the last header.
      const expected = name === 'compact-folded' ? text.replace(/\r\n\r\n$/, '\r\nContent-Length: 0\r\n\r\n') : text;
      expect(out, name).toBe(expected);
    }
  });

  it('round-trips every valid fixture built as code would build it: parse, serialise, parse again gives the same', () => {
    for (const name of Object.keys(valid)) {
      const m = built(fixture(name));
      const again = parseSipMessage(serializeSipMessage(m));
      expect(again.ok, name).toBe(true);
      if (!again.ok) continue;
      expect({ ...again.value, headers: [] }, name).toEqual({ ...m, headers: [] });
      const withoutLength = (x: SipMessage) => built(x).headers.filter((h) => h.name !== 'Content-Length');
      expect(withoutLength(again.value), name).toEqual(withoutLength(m));
      expect(headerValue(again.value, 'Content-Length'), name).toBe(String(m.body.length));
    }
  });

  it('writes a message built in code as the fixture holds it', () => {
    const bye: SipRequest = {
      kind: 'request', method: 'BYE', uri: 'sip:bob@[2001:db8:b:1::20]:5062;transport=tcp',
      headers: [
        { name: 'Via', value: 'SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds10' },
        { name: 'Max-Forwards', value: '70' },
        { name: 'Route', value: '<sip:proxy.a.example.net;lr>' },
        { name: 'From', value: '"Alice A." <sip:alice@a.example.net>;tag=1928301774' },
        { name: 'To', value: 'Bob <sip:bob@b.example.net>;tag=a6c85cf' },
        { name: 'Call-ID', value: 'a84b4c76e66710@pc33.a.example.net' },
        { name: 'CSeq', value: '314160 BYE' },
        { name: 'Content-Length', value: '999' },
      ],
      body: '',
    };
    expect(serializeSipMessage(bye)).toBe(valid['bye']);
  });

  it('uses a raw header only while it still says the same, and rewrites a wrong Content-Length', () => {
    const m = fixture('torture-compact');
    const edited = { ...m, headers: m.headers.map((h) => (h.name === 'Subject' ? { ...h, value: 'changed' } : h)), body: 'hi' };
    const out = serializeSipMessage(edited);
    expect(out).toContain('\r\nSubject: changed\r\n');
    expect(out).toContain('\r\ni: compact@example.com\r\n');
    expect(out).toContain('\r\nContent-Length: 2\r\n\r\nhi');
    expect(out).not.toContain('\r\nl: 7');
  });

  it('never lets a value built in code start a new header line', () => {
    const m = built(fixture('bye'));
    const evil = withHeaders(m, { append: [{ name: 'X-Note', value: 'a\r\nVia: SIP/2.0/UDP evil;branch=z9hG4bKx\nb' }] });
    const again = parsed(serializeSipMessage(evil));
    expect(headerValues(again, 'Via')).toHaveLength(1);
    expect(headerValue(again, 'X-Note')).toBe('a Via: SIP/2.0/UDP evil;branch=z9hG4bKx b');
    const forged = withHeaders(m, { append: [{ name: 'X-Note', value: 'a', raw: 'X-Note: a\r\nVia: forged' }] });
    expect(serializeSipMessage(forged)).toContain('\r\nX-Note: a\r\n\r\n');
    expect(serializeSipMessage(forged)).not.toContain('forged');
  });

  it('counts body bytes: a byte string as is, Unicode text as UTF-8 (no TextEncoder needed)', () => {
    const m = built(fixture('bye'));
    const unicode = { ...m, body: 'Grüße 👋' };
    const bytes = serializeSipMessage(unicode);
    expect(bytes).toContain('Content-Length: 12\r\n');
    expect(bytes.endsWith('Gr\xc3\xbc\xc3\x9fe \xf0\x9f\x91\x8b')).toBe(true);
    const text = serializeSipMessage(unicode, { encoding: 'text' });
    expect(text).toContain('Content-Length: 12\r\n');
    expect(text.endsWith('Grüße 👋')).toBe(true);
    // A byte string (every character below 0x100) is already bytes: é as one byte stays one byte.
    expect(serializeSipMessage({ ...m, body: '\xe9' })).toContain('Content-Length: 1\r\n');
  });
});

describe('parseSipMessage bodies and encodings', () => {
  it('reads a UTF-8 body as bytes by default and as text when asked', () => {
    const m = fixture('utf8-body');
    expect(m.body).toBe('Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xf0\x9f\x91\x8b\r\n');
    const text = loadSip(join(SIP_FIXTURES, 'utf8-body.sip'), 'utf8');
    const t = parseSipMessage(text, { encoding: 'text' });
    expect(t.ok && t.value.body).toBe('Grüße aus Köln 👋\r\n');
    expect(t.ok && parseNameAddr(headerValue(t.value, 'From')!)).toMatchObject({ ok: true, value: { displayName: 'Jürgen Groß' } });
    expect(t.ok && serializeSipMessage(t.value, { encoding: 'text' })).toBe(text);
    // Counted as UTF-16 units the body would be too short for its Content-Length.
    expect(parseSipMessage(text)).toMatchObject({ ok: false, error: { code: 'E_SIP_CONTENT_LENGTH' } });
    // A Content-Length ending inside a character is no length of this body.
    expect(parseSipMessage(text.replace('Content-Length: 24', 'Content-Length: 3'), { encoding: 'text' })).toMatchObject({ ok: false, error: { code: 'E_SIP_CONTENT_LENGTH' } });
  });

  it('cuts a body longer than Content-Length, takes the rest of a datagram without one, refuses one shorter', () => {
    const bye = valid['bye']!;
    expect(parsed(`${bye}extra bytes`).body).toBe('');
    expect(parsed(bye.replace('Content-Length: 0', 'Content-Length: 5') + 'abcdefgh').body).toBe('abcde');
    expect(parsed(bye.replace('Content-Length: 0\r\n', '') + 'the rest').body).toBe('the rest');
    expect(parseSipMessage(bye.replace('Content-Length: 0', 'Content-Length: 9') + 'abc')).toMatchObject({ ok: false, error: { code: 'E_SIP_CONTENT_LENGTH' } });
    expect(parseSipMessage(bye.replace('Content-Length: 0\r\n', ''), { requireContentLength: true })).toMatchObject({ ok: false, error: { code: 'E_SIP_CONTENT_LENGTH' } });
  });

  it('is lenient about Max-Forwards unless asked, and reads bare-LF messages', () => {
    const noMaxForwards = valid['bye']!.replace('Max-Forwards: 70\r\n', '');
    expect(parseSipMessage(noMaxForwards).ok).toBe(true);
    expect(parseSipMessage(noMaxForwards, { requireMaxForwards: true })).toMatchObject({ ok: false, error: { code: 'E_SIP_MISSING_HEADER' } });
    expect(parseSipMessage(valid['bye']!, { requireMaxForwards: true }).ok).toBe(true);
    const lf = parsed(valid['bye']!.replace(/\r\n/g, '\n') + 'after');
    expect([headerValue(lf, 'CSeq'), lf.headers.length, lf.body]).toEqual(['314160 BYE', 8, '']);
    const lfBody = valid['invite-sdp']!.replace(/\r\n/g, '\n').replace('Content-Length: 274', 'Content-Length: 261');
    expect(parsed(lfBody).body.startsWith('v=0\no=alice')).toBe(true);
  });
});

describe('parseSipMessage refusals', () => {
  it('refuses each invalid fixture with the code its .json names', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
    for (const f of invalid) {
      const r = parseSipMessage(f.text);
      expect(r.ok, `${f.name}: ${f.note}`).toBe(false);
      if (!r.ok) {
        expect(r.error.code, `${f.name}: ${r.error.message}`).toBe(f.code);
        expect(r.error.message.length, f.name).toBeGreaterThan(10);
      }
    }
  });

  it('refuses oversized messages, lines and header counts, with defaults and with limits given', () => {
    const base = valid['bye']!;
    const tooLarge = { ok: false, error: { code: 'E_SIP_TOO_LARGE' } };
    expect(parseSipMessage(base + 'x'.repeat(70_000))).toMatchObject(tooLarge);
    expect(parseSipMessage(base, { maxMessageBytes: 100 })).toMatchObject(tooLarge);
    expect(parseSipMessage(base.replace('Max-Forwards: 70', `Subject: ${'y'.repeat(9000)}`))).toMatchObject(tooLarge);
    expect(parseSipMessage(base, { maxLineBytes: 40 })).toMatchObject(tooLarge);
    expect(parseSipMessage(base.replace('Max-Forwards: 70', Array.from({ length: 201 }, (_, i) => `X-H${i}: 1`).join('\r\n')))).toMatchObject(tooLarge);
    expect(parseSipMessage(base, { maxHeaders: 5 })).toMatchObject(tooLarge);
    expect(parseSipMessage(base.replace('Max-Forwards: 70', Array.from({ length: 190 }, (_, i) => `X-H${i}: 1`).join('\r\n'))).ok).toBe(true);
    expect(parseSipMessage('x'.repeat(30_000), { encoding: 'text', maxMessageBytes: 20_000 })).toMatchObject(tooLarge);
    expect(parseSipMessage('é'.repeat(15_000), { encoding: 'text', maxMessageBytes: 20_000 })).toMatchObject(tooLarge);
  });

  it('refuses control characters in the head: a bare CR, a NUL', () => {
    const base = valid['bye']!;
    expect(parseSipMessage(base.replace('Route: <sip:proxy', 'Route: <sip:pr\roxy'))).toMatchObject({ ok: false, error: { code: 'E_SIP_HEADER' } });
    expect(parseSipMessage(base.replace('Call-ID: a84', 'Call-ID: a\x0084'))).toMatchObject({ ok: false, error: { code: 'E_SIP_HEADER' } });
    expect(parseSipMessage(base.replace('Call-ID: a84', 'Call-ID:\ta84')).ok).toBe(true);
  });

  it('refuses an empty message and a repeated single header, and accepts a status line without a reason', () => {
    expect(parseSipMessage('')).toMatchObject({ ok: false, error: { code: 'E_SIP_START_LINE' } });
    expect(parseSipMessage(valid['bye']!.replace('CSeq: 314160 BYE', 'CSeq: 314160 BYE\r\nCSeq: 314161 BYE'))).toMatchObject({ ok: false, error: { code: 'E_SIP_HEADER' } });
    const ringing = valid['response-200-sdp']!.replace('SIP/2.0 200 OK', 'SIP/2.0 180');
    expect(parsed(ringing)).toMatchObject({ status: 180, reason: '' });
    expect(parseSipMessage(valid['response-200-sdp']!.replace('SIP/2.0 200 OK', 'SIP/2.0 200OK'))).toMatchObject({ ok: false, error: { code: 'E_SIP_START_LINE' } });
  });
});

describe('withHeaders', () => {
  it('drops every header of a name, adds at the top or the end', () => {
    const m = fixture('bye');
    const changed = withHeaders(m, { drop: ['route'], prepend: [{ name: 'Via', value: 'SIP/2.0/UDP proxy;branch=z9hG4bKp' }] });
    expect(headerValues(changed, 'Route')).toEqual([]);
    expect(headerValues(changed, 'Via')[0]).toBe('SIP/2.0/UDP proxy;branch=z9hG4bKp');
    expect(headerValues(changed, 'Via')).toHaveLength(2);
  });
});
