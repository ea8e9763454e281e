import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prng } from '../../../test/support/random.ts';
import { parseCSeq, parseNameAddr, parseSipUri, parseVia, formatSipUri } from './headers.ts';
import { headerValue, headerValues, parseSipMessage, serializeSipMessage, splitList, withHeaders, type SipMessage } from './message.ts';
import { SipStreamFramer } from './stream.ts';

// Fixtures are kept with LF line ends so that they read well; SIP needs CRLF, so the loader turns
// every LF into CRLF (their Content-Length values count the CRLF form).
const dir = join(import.meta.dirname, '../../../test/fixtures/sip');
const load = (path: string) => readFileSync(path, 'latin1').replace(/\r?\n/g, '\r\n');
const valid = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.sip')).map((f) => [f.slice(0, -4), load(join(dir, f))]));
const invalid = readdirSync(join(dir, 'invalid'))
  .filter((f) => f.endsWith('.sip'))
  .map((f) => ({ name: f.slice(0, -4), text: load(join(dir, 'invalid', f)), ...(JSON.parse(readFileSync(join(dir, 'invalid', f.replace(/\.sip$/, '.json')), 'utf8')) as { code: string; note: string }) }));

function parsed(name: string): SipMessage {
  const r = parseSipMessage(valid[name]!);
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`);
  return r.value;
}

describe('SIP message codec', () => {
  it('parses an INVITE with SDP: request line, headers in order, body by Content-Length', () => {
    const m = parsed('invite-sdp');
    expect(m).toMatchObject({ kind: 'request', method: 'INVITE', uri: 'sip:bob@b.example.net' });
    expect(headerValue(m, 'call-id')).toBe('a84b4c76e66710@pc33.a.example.net');
    expect(m.body.startsWith('v=0\r\no=alice')).toBe(true);
    expect(m.body.length).toBe(Number(headerValue(m, 'Content-Length')));
    const via = parseVia(headerValues(m, 'Via')[0]!);
    expect(via.ok && via.value).toMatchObject({ transport: 'UDP', host: '192.168.1.20', port: 5060 });
    expect(via.ok && [...via.value.params]).toEqual([['branch', 'z9hG4bK776asdhds'], ['rport', '']]);
    const from = parseNameAddr(headerValue(m, 'From')!);
    expect(from.ok && from.value.displayName).toBe('Alice A.');
    expect(from.ok && from.value.params.get('tag')).toBe('1928301774');
    expect(from.ok && from.value.uri).toMatchObject({ scheme: 'sip', user: 'alice', host: 'a.example.net', port: null });
  });

  it('parses a response with two Vias in one header, received/rport, and an IPv6 Contact', () => {
    const m = parsed('response-200-sdp');
    expect(m).toMatchObject({ kind: 'response', status: 200, reason: 'OK' });
    const vias = headerValues(m, 'Via').map((v) => parseVia(v));
    expect(vias.map((v) => v.ok && v.value.params.get('received'))).toEqual(['203.0.113.5', '203.0.113.1']);
    expect(vias[1]!.ok && vias[1]!.value.params.get('rport')).toBe('50611');
    const contact = parseNameAddr(headerValue(m, 'Contact')!);
    expect(contact.ok && contact.value.uri).toMatchObject({ host: '2001:db8:b:1::20', port: 5062 });
    expect(contact.ok && contact.value.uri!.params.get('transport')).toBe('tcp');
    expect(parseCSeq(headerValue(m, 'CSeq')!)).toEqual({ ok: true, value: { seq: 314159, method: 'INVITE' } });
  });

  it('expands compact names, joins folded lines, takes odd spacing, and splits lists outside quotes and brackets', () => {
    const m = parsed('compact-folded');
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

  it('reads Contact lists with header parameters, and bare addr-specs whose parameters are the header\'s', () => {
    const m = parsed('register');
    const contacts = headerValues(m, 'Contact').map((c) => parseNameAddr(c));
    expect(contacts.map((c) => c.ok && [c.value.uri?.host, c.value.params.get('expires') ?? c.value.params.get('q')])).toEqual([
      ['192.168.1.21', '7200'], ['2001:db8:a:1::21', '0.5'],
    ]);
    const bare = parseNameAddr('sip:bob@b.example.net;tag=88');
    expect(bare.ok && [bare.value.uriText, bare.value.params.get('tag'), bare.value.uri?.params.size]).toEqual(['sip:bob@b.example.net', '88', 0]);
  });

  it('round-trips every valid fixture: serialise, parse again, the same message', () => {
    for (const name of Object.keys(valid)) {
      const m = parsed(name);
      const again = parseSipMessage(serializeSipMessage(m));
      expect(again, name).toEqual({ ok: true, value: { ...m, headers: again.ok ? again.value.headers : [] } });
      expect(again.ok && again.value.headers.filter((h) => h.name !== 'Content-Length')).toEqual(m.headers.filter((h) => h.name !== 'Content-Length'));
      expect(again.ok && headerValue(again.value, 'Content-Length')).toBe(String(m.body.length));
    }
  });

  it('edits headers: drops every header of a name, adds at the top or the end', () => {
    const m = parsed('bye');
    const changed = withHeaders(m, { drop: ['route'], prepend: [{ name: 'Via', value: 'SIP/2.0/UDP proxy;branch=z9hG4bKp' }] });
    expect(headerValues(changed, 'Route')).toEqual([]);
    expect(headerValues(changed, 'Via')[0]).toBe('SIP/2.0/UDP proxy;branch=z9hG4bKp');
    expect(headerValues(changed, 'Via')).toHaveLength(2);
  });

  it('refuses each invalid fixture with the code it names', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(10);
    for (const f of invalid) {
      const r = parseSipMessage(f.text);
      expect(r.ok, `${f.name}: ${f.note}`).toBe(false);
      if (!r.ok) expect(r.error.code, `${f.name}: ${r.error.message}`).toBe(f.code);
    }
  });

  it('refuses oversized messages, lines and header counts before working on them', () => {
    const base = valid['bye']!;
    expect(parseSipMessage(base + 'x'.repeat(70_000))).toMatchObject({ ok: false, error: { code: 'E_SIP_TOO_LARGE' } });
    expect(parseSipMessage(base.replace('Max-Forwards: 70', `Subject: ${'y'.repeat(9000)}`))).toMatchObject({ ok: false, error: { code: 'E_SIP_TOO_LARGE' } });
    expect(parseSipMessage(base.replace('Max-Forwards: 70', Array.from({ length: 201 }, (_, i) => `X-H${i}: 1`).join('\r\n')))).toMatchObject({ ok: false, error: { code: 'E_SIP_TOO_LARGE' } });
  });

  it('parses URIs with IPv6 references, user parts, parameters and headers, and writes them back', () => {
    const u = parseSipUri('sips:alice;p=1@[2001:db8::1]:5061;transport=tls;lr?subject=hi');
    expect(u.ok && u.value).toMatchObject({ scheme: 'sips', user: 'alice;p=1', host: '2001:db8::1', port: 5061, headers: 'subject=hi' });
    expect(u.ok && formatSipUri(u.value)).toBe('sips:alice;p=1@[2001:db8::1]:5061;transport=tls;lr?subject=hi');
    for (const bad of ['http://x', 'sip:', 'sip:a@', 'sip:[::1', 'sip:host:0', 'sip:host:70000', 'sip:ho st']) expect(parseSipUri(bad).ok, bad).toBe(false);
  });
});

describe('SIP stream framing', () => {
  it('cuts messages out of chunks split anywhere, with CRLF keep-alives between them', () => {
    const a = valid['invite-sdp']!;
    const b = valid['bye']!;
    const stream = `\r\n\r\n${a}\r\n${b}\r\n\r\n`;
    for (const size of [1, 2, 7, 64, 1000, stream.length]) {
      const framer = new SipStreamFramer();
      const out: string[] = [];
      let pings = 0;
      for (let i = 0; i < stream.length; i += size) {
        const r = framer.push(stream.slice(i, i + size));
        if (!r.ok) throw new Error(r.error.message);
        out.push(...r.value.messages);
        pings += r.value.pings;
      }
      expect(out, `chunks of ${size}`).toEqual([a, b]);
      expect(pings, `chunks of ${size}`).toBeGreaterThanOrEqual(1);
      expect(framer.buffered).toBe(0);
    }
  });

  it('ends the stream on a message without Content-Length, or one past the size limit', () => {
    const noLength = valid['compact-folded']!;
    expect(new SipStreamFramer().push(noLength)).toMatchObject({ ok: false, error: { code: 'E_SIP_CONTENT_LENGTH' } });
    expect(new SipStreamFramer().push('OPTIONS sip:x SIP/2.0\r\nContent-Length: 9999999\r\n\r\n')).toMatchObject({ ok: false, error: { code: 'E_SIP_TOO_LARGE' } });
    expect(new SipStreamFramer().push('x'.repeat(70_000))).toMatchObject({ ok: false, error: { code: 'E_SIP_TOO_LARGE' } });
  });
});

describe('SIP fuzzing', () => {
  it('never throws on 20,000 mutated messages, and what it accepts serialises and parses back the same', () => {
    const rand = prng(Number(process.env.FUZZ_SEED ?? 20261124));
    const seeds = Object.values(valid);
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      let text = seeds[Math.floor(rand() * seeds.length)]!;
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (text.length + 1));
        const op = rand();
        const byte = String.fromCharCode(Math.floor(rand() * 256));
        const piece = [':', ';', ',', '<', '>', '"', '\r\n', ' ', '\t', '\r\n ', 'SIP/2.0', '0', '99999999999', '@', '[', ']', byte][Math.floor(rand() * 17)]!;
        if (op < 0.3) text = text.slice(0, at) + piece + text.slice(at);
        else if (op < 0.55) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 8));
        else if (op < 0.75) text = text.slice(0, at) + byte + text.slice(at + 1);
        else if (op < 0.85) text = text.slice(0, at);
        else text = text.slice(0, at) + text.slice(at, at + 40) + text.slice(at);
      }
      let r: ReturnType<typeof parseSipMessage>;
      try {
        r = parseSipMessage(text);
      } catch (err) {
        throw new Error(`case ${n}: parseSipMessage threw ${String(err)} on ${JSON.stringify(text.slice(0, 200))}`);
      }
      if (!r.ok) {
        expect(r.error.code, `case ${n}`).toMatch(/^E_SIP_/);
        continue;
      }
      accepted++;
      for (const h of r.value.headers) {
        // Header parsers never throw either, whatever they get.
        parseVia(h.value);
        parseNameAddr(h.value);
        parseCSeq(h.value);
      }
      const again = parseSipMessage(serializeSipMessage(r.value));
      expect(again.ok, `case ${n}: accepted but its serialisation does not parse`).toBe(true);
      if (again.ok) expect(again.value.body).toBe(r.value.body);
    }
    // The mutations must leave enough messages valid for the round trip to mean something.
    expect(accepted).toBeGreaterThan(2000);
  });
});
