/**
 * Torture cases in the style of RFC 4475 (our own messages, not the RFC's): escapes, odd spacing,
 * folding, compact forms, IPv6 references, several Vias in one header. The messages are the
 * `torture-*.sip` fixtures; a few that are easier to read as one-line edits are built inline.
 */
import { describe, expect, it } from 'vitest';
import { validSipFixtures } from '../../../test/fixtures/sip/load.ts';
import { parseContact, parseCSeq, parseMaxForwards, parseNameAddr, parseSipUri, parseVia, parseViaList, unescapeSip } from './headers.ts';
import { headerValue, headerValues, parseSipMessage, serializeSipMessage, type SipMessage } from './message.ts';

const valid = validSipFixtures();

function parsed(text: string): SipMessage {
  const r = parseSipMessage(text);
  if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
  return r.value;
}
function value<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
  return r.value;
}

describe('torture: escapes', () => {
  const m = parsed(valid['torture-escapes']!);

  it('takes an unknown method and an escaped Request-URI, keeping the escapes as written', () => {
    expect(m).toMatchObject({ kind: 'request', method: 'NEWMETHOD', uri: 'sip:%61lice;day=tue%73day@example.net;transport=udp?Subject=hi%20there' });
    const uri = value(parseSipUri(m.kind === 'request' ? m.uri : ''));
    expect(uri).toMatchObject({ user: '%61lice;day=tue%73day', host: 'example.net', headers: 'Subject=hi%20there' });
    expect(unescapeSip(uri.user!)).toBe(unescapeSip(value(parseNameAddr(headerValue(m, 'To')!)).uri!.user!));
    expect(parseCSeq(headerValue(m, 'CSeq')!)).toEqual({ ok: true, value: { seq: 8, method: 'NEWMETHOD' } });
  });

  it('unescapes quoted display names, and reads escaped users and passwords', () => {
    expect(value(parseNameAddr(headerValue(m, 'To')!)).displayName).toBe('Alice "Al" O\\Neil');
    const from = value(parseNameAddr(headerValue(m, 'From')!));
    expect(from).toMatchObject({ displayName: 'Bob, Jr. <the builder>', uri: { user: 'bob%40home', password: 'pa%24s', host: 'example.org' } });
    expect(from.params.get('tag')).toBe('esc%2541');
    const contact = value(parseContact(headerValue(m, 'Contact')!));
    expect(contact.star === false && contact.addresses[0]!.params.get('+sip.instance')).toBe('<urn:uuid:0001;x>');
    expect(contact.star === false && contact.addresses[0]!.uri?.headers).toBe('Replaces=abc%40x%3Bto-tag%3D1');
  });

  it('keeps an unknown header with quotes, commas and semicolons as it came', () => {
    expect(headerValue(m, 'X-Odd-Header')).toBe(';;,,"quoted; with, stuff" <not a uri>');
    expect(headerValue(m, 'Call-ID')).toBe("esc.%:a-b_c!~*'`+@Example.COM");
  });
});

describe('torture: spacing and folding', () => {
  const m = parsed(valid['torture-spacing']!);

  it('reads names in any case with space before the colon, and values after tabs and runs of spaces', () => {
    expect(m.headers.map((h) => h.name)).toEqual(['Via', 'Via', 'To', 'From', 'Call-ID', 'CSeq', 'Max-Forwards', 'Subject', 'Supported', 'Accept', 'Content-Length']);
    const vias = headerValues(m, 'Via').map((v) => value(parseVia(v)));
    expect(vias[0]).toMatchObject({ protocol: 'SIP/2.0', transport: 'UDP', host: 'proxy.example.com', port: 5060, branch: 'z9hG4bK-sp-1', rport: 'requested' });
    expect(vias[1]).toMatchObject({ transport: 'TCP', host: 'client.example.com', port: 5070, received: '192.0.2.5' });
    expect(value(parseNameAddr(headerValue(m, 'To')!)).displayName).toBe('Carol');
    const from = value(parseNameAddr(headerValue(m, 'From')!));
    expect([from.displayName, from.params.get('tag')]).toEqual(['Dave Tester', 'aa11']);
    expect(parseCSeq(headerValue(m, 'CSeq')!)).toEqual({ ok: true, value: { seq: 9, method: 'OPTIONS' } });
    expect(parseMaxForwards(headerValue(m, 'Max-Forwards')!)).toEqual({ ok: true, value: 70 });
  });

  it('takes an empty header value and a list folded over three lines', () => {
    expect(headerValue(m, 'Subject')).toBe('');
    expect(headerValue(m, 'Supported')).toBe('timer, 100rel , path');
    expect(headerValues(m, 'Supported')).toEqual(['timer', '100rel', 'path']);
  });

  it('folds anywhere whitespace may stand, including inside a header that is later split', () => {
    const folded = valid['bye']!.replace('Route: <sip:proxy.a.example.net;lr>', 'Route:\r\n <sip:proxy.a.example.net;lr>\r\n\t,\r\n  <sip:p2.example.net;lr>');
    const r = parsed(folded);
    expect(headerValues(r, 'Route')).toEqual(['<sip:proxy.a.example.net;lr>', '<sip:p2.example.net;lr>']);
    expect(serializeSipMessage(r)).toBe(folded);
  });
});

describe('torture: compact forms', () => {
  it('expands every compact name to its canonical one, and keeps them compact when forwarded', () => {
    const text = valid['torture-compact']!;
    const m = parsed(text);
    expect(m.headers.map((h) => h.name)).toEqual([
      'Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Supported', 'Subject', 'Content-Encoding', 'Event', 'Refer-To', 'Allow-Events',
      'Session-Expires', 'Content-Type', 'Content-Length',
    ]);
    expect(m.body).toBe('hello\r\n');
    expect(headerValue(m, 'session-expires')).toBe('1800;refresher=uac');
    expect(serializeSipMessage(m)).toBe(text);
  });
});

describe('torture: IPv6 references', () => {
  const m = parsed(valid['torture-ipv6']!);

  it('reads IPv6 in the Request-URI, Via sent-by, received, maddr, Route and Contact', () => {
    expect(value(parseSipUri(m.kind === 'request' ? m.uri : ''))).toMatchObject({ host: '2001:db8::10', port: 5070 });
    const [top, second] = headerValues(m, 'Via').map((v) => value(parseVia(v)));
    expect(top).toMatchObject({ transport: 'TCP', host: '2001:db8::9:1', port: 5080, received: '2001:db8::9:255', rport: 5081 });
    expect(second).toMatchObject({ host: '2001:db8::1', port: null, maddr: '[ff02::1]', ttl: 16 });
    expect(headerValues(m, 'Route').map((r) => value(parseNameAddr(r)).uri).map((u) => [u?.host, u?.port, u?.params.has('lr')])).toEqual([
      ['2001:db8::20', null, true], ['2001:db8::21', 5062, true],
    ]);
    expect(value(parseNameAddr(headerValue(m, 'Contact')!)).uri).toMatchObject({ user: 'caller', host: '2001:db8::9:1', port: 5080 });
    expect(m.body).toContain('c=IN IP6 2001:db8::9:1');
  });

  it('refuses an IPv6 address without brackets where a port could follow', () => {
    expect(parseVia('SIP/2.0/UDP 2001:db8::1:5060;branch=z9hG4bK1')).toMatchObject({ ok: false, error: { code: 'E_SIP_VIA' } });
    expect(parseSipUri('sip:user@2001:db8::1')).toMatchObject({ ok: false, error: { code: 'E_SIP_HOST' } });
  });
});

describe('torture: many Vias', () => {
  it('keeps Vias in order across one header with commas, a fold, and a compact second header', () => {
    const m = parsed(valid['torture-many-vias']!);
    expect(m).toMatchObject({ kind: 'response', status: 180, reason: 'Ringing, very much so' });
    const vias = headerValues(m, 'Via').map((v) => value(parseVia(v)));
    expect(vias.map((v) => v.branch)).toEqual(['z9hG4bK-mv-3', 'z9hG4bK-mv-2', 'z9hG4bK-mv-1', 'z9hG4bK-mv-0']);
    expect(vias.map((v) => v.host)).toEqual(['p3.example.com', 'p2.example.com', 'p1.example.com', '2001:db8::5']);
    expect(value(parseViaList(m.headers[0]!.value))).toHaveLength(3);
    expect(headerValues(m, 'Record-Route').map((r) => value(parseNameAddr(r)).displayName)).toEqual([null, 'Proxy, Two', null]);
    const contact = value(parseContact(headerValue(m, 'Contact')!));
    expect(contact.star === false && contact.addresses.map((a) => [a.displayName, a.params.get('q')])).toEqual([['Doe, John', '0.7'], [null, '0.3']]);
  });
});

describe('torture: messages that look close to valid but are not', () => {
  const bye = valid['bye']!;
  const cases: [string, string, string][] = [
    ['a space before the colon of the start line version', bye.replace('SIP/2.0\r\n', 'SIP/2.0 \r\n'), 'E_SIP_START_LINE'],
    ['a tab between method and URI', bye.replace('BYE sip:', 'BYE\tsip:'), 'E_SIP_START_LINE'],
    ['a lower-case version reads, since it is case-insensitive', bye.replace(' SIP/2.0\r\n', ' sip/2.0\r\n'), 'ok'],
    ['an unknown scheme in the Request-URI is still a URI', bye.replace('BYE sip:bob@[2001:db8:b:1::20]:5062;transport=tcp', 'BYE urn:service:sos'), 'ok'],
    ['a method differing only in case from its CSeq method', bye.replace('CSeq: 314160 BYE', 'CSeq: 314160 bye'), 'E_SIP_CSEQ'],
    ['two Content-Lengths that agree', bye.replace('Content-Length: 0', 'Content-Length: 0\r\nl: 0'), 'ok'],
    ['a header name with a colon only', bye.replace('Max-Forwards: 70', ': 70'), 'E_SIP_HEADER'],
    ['a NUL in a display name', bye.replace('"Alice A."', '"Alice\x00A."'), 'E_SIP_HEADER'],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => {
      const r = parseSipMessage(text);
      expect(r.ok ? 'ok' : r.error.code).toBe(expected);
    });
  }
});
