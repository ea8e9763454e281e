import { describe, expect, it } from 'vitest';
import {
  formatSipUri, parseContact, parseContentLength, parseCSeq, parseExpires, parseHostPort, parseMaxForwards, parseNameAddr,
  parseParams, parseSipUri, parseVia, parseViaList, unescapeSip,
} from './headers.ts';

const code = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error!.code);

describe('parseSipUri', () => {
  it('reads user, password, host, port, uri-params and headers, and writes them back', () => {
    const u = parseSipUri('sips:alice;p=1@[2001:db8::1]:5061;transport=tls;lr?subject=hi');
    expect(u.ok && u.value).toMatchObject({ scheme: 'sips', user: 'alice;p=1', password: null, host: '2001:db8::1', port: 5061, headers: 'subject=hi' });
    expect(u.ok && [...u.value.params]).toEqual([['transport', 'tls'], ['lr', '']]);
    expect(u.ok && formatSipUri(u.value)).toBe('sips:alice;p=1@[2001:db8::1]:5061;transport=tls;lr?subject=hi');
    const p = parseSipUri('sip:+1-212-555-1212:1234@gateway.example.com;user=phone');
    expect(p.ok && p.value).toMatchObject({ user: '+1-212-555-1212', password: '1234', host: 'gateway.example.com', port: null });
    expect(p.ok && formatSipUri(p.value)).toBe('sip:+1-212-555-1212:1234@gateway.example.com;user=phone');
    expect(parseSipUri('SIP:Host.Example.COM')).toMatchObject({ ok: true, value: { scheme: 'sip', user: null, host: 'Host.Example.COM' } });
  });

  it('keeps escapes as written and decodes them on request; a user may hold ; and ?', () => {
    const u = parseSipUri('sip:%61lice%3Bx?y@example.net;maddr=239.255.255.1');
    expect(u.ok && u.value).toMatchObject({ user: '%61lice%3Bx?y', host: 'example.net', headers: '' });
    expect(u.ok && u.value.params.get('maddr')).toBe('239.255.255.1');
    expect(unescapeSip('%61lice%3Bx')).toBe('alice;x');
    expect(unescapeSip('100%25')).toBe('100%');
  });

  it('refuses what is not a SIP URI, with a code', () => {
    const cases: [string, string][] = [
      ['http://x', 'E_SIP_URI'], ['sip:', 'E_SIP_HOST'], ['sip:a@', 'E_SIP_HOST'], ['sip:@host', 'E_SIP_URI'],
      ['sip:[::1', 'E_SIP_HOST'], ['sip:[::g]', 'E_SIP_HOST'], ['sip:2001:db8::1', 'E_SIP_HOST'], ['sip:host:0', 'E_SIP_HOST'],
      ['sip:host:70000', 'E_SIP_HOST'], ['sip:ho st', 'E_SIP_URI'], ['sip:a%4@host', 'E_SIP_URI'], ['sip:999.1.1.1', 'E_SIP_HOST'],
      ['sip:host;=x', 'E_SIP_PARAM'], ['sip:-bad-.example', 'E_SIP_HOST'], ['sip:bob@h\xe9st', 'E_SIP_URI'],
    ];
    for (const [text, expected] of cases) expect(code(parseSipUri(text)), text).toBe(expected);
  });
});

describe('parseHostPort and parseParams', () => {
  it('reads names, IPv4 and IPv6 references with ports', () => {
    expect(parseHostPort('example.com.')).toEqual({ ok: true, value: { host: 'example.com.', port: null } });
    expect(parseHostPort('192.0.2.1:5060')).toEqual({ ok: true, value: { host: '192.0.2.1', port: 5060 } });
    expect(parseHostPort('[::ffff:192.0.2.1]:5070')).toEqual({ ok: true, value: { host: '::ffff:192.0.2.1', port: 5070 } });
    expect(code(parseHostPort('[::1]x'))).toBe('E_SIP_HOST');
  });

  it('splits parameters outside quotes, takes spaces around ; and =, and unquotes values', () => {
    const p = parseParams(' ; tag = a1 ;lr; +sip.instance="<urn:uuid:1;2>" ;x="a\\"b"');
    expect(p.ok && [...p.value]).toEqual([['tag', 'a1'], ['lr', ''], ['+sip.instance', '<urn:uuid:1;2>'], ['x', 'a"b']]);
    expect(code(parseParams('tag=1'))).toBe('E_SIP_PARAM');
    expect(code(parseParams(';x="open'))).toBe('E_SIP_PARAM');
    expect(code(parseParams(';x=a b'))).toBe('E_SIP_PARAM');
  });
});

describe('parseVia', () => {
  it('reads protocol, transport, sent-by and the parameters a proxy needs', () => {
    const v = parseVia('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK77;received=198.51.100.4;rport=6000;maddr=224.2.0.1;ttl=16');
    expect(v.ok && v.value).toMatchObject({
      protocol: 'SIP/2.0', transport: 'UDP', host: '192.0.2.1', port: 5060, branch: 'z9hG4bK77', received: '198.51.100.4', rport: 6000, maddr: '224.2.0.1', ttl: 16,
    });
    const bare = parseVia('SIP/2.0/tcp [2001:db8::2];rport;branch=z9hG4bKa');
    expect(bare.ok && bare.value).toMatchObject({ transport: 'TCP', host: '2001:db8::2', port: null, rport: 'requested', received: null, ttl: null });
    expect(bare.ok && bare.value.params.get('rport')).toBe('');
  });

  it('takes whitespace around slashes, the colon and parameters, and IPv6 received with or without brackets', () => {
    const v = parseVia('  sip / 2.0 / ws   edge.example.com : 443 ; branch = z9hG4bKs ; received = [2001:db8::9] ');
    expect(v.ok && v.value).toMatchObject({ protocol: 'sip/2.0', transport: 'WS', host: 'edge.example.com', port: 443, branch: 'z9hG4bKs', received: '2001:db8::9' });
    expect(parseVia('SIP/2.0/UDP h;received=2001:db8::9')).toMatchObject({ ok: true, value: { received: '2001:db8::9' } });
  });

  it('refuses malformed Vias and parameters outside their range', () => {
    const cases = [
      'SIP/2.0 UDP host', 'SIP/3.0/UDP host', 'SIP/2.0/UDP', 'SIP/2.0/UDP host:99999', 'SIP/2.0/UDP 2001:db8::1',
      'SIP/2.0/UDP host;received=example.com', 'SIP/2.0/UDP host;rport=0', 'SIP/2.0/UDP host;rport=x', 'SIP/2.0/UDP host;ttl=256',
      'SIP/2.0/UDP host;maddr=[::1]:5', 'SIP/2.0/UDP host;branch="a b"', 'SIP/2.0/UDP host junk',
    ];
    for (const text of cases) expect(code(parseVia(text)), text).toBe('E_SIP_VIA');
  });

  it('reads every Via of a list header in order', () => {
    const list = parseViaList('SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/TCP [2001:db8::3]:5061;branch=z9hG4bK2 ,SIP/2.0/TLS c.example;branch=z9hG4bK3');
    expect(list.ok && list.value.map((v) => `${v.transport} ${v.host} ${v.port} ${v.branch}`)).toEqual([
      'UDP a.example null z9hG4bK1', 'TCP 2001:db8::3 5061 z9hG4bK2', 'TLS c.example null z9hG4bK3',
    ]);
    expect(code(parseViaList(' , '))).toBe('E_SIP_VIA');
    expect(code(parseViaList('SIP/2.0/UDP a;branch=z9hG4bK1, nonsense'))).toBe('E_SIP_VIA');
  });
});

describe('parseNameAddr and parseContact', () => {
  it('reads quoted and token display names, the URI in <>, and header parameters', () => {
    const q = parseNameAddr('"Bob, Jr. <the \\"builder\\">" <sip:bob@example.org:5062;transport=tcp>;tag=99;expires=60');
    expect(q.ok && q.value).toMatchObject({ displayName: 'Bob, Jr. <the "builder">', uriText: 'sip:bob@example.org:5062;transport=tcp' });
    expect(q.ok && [...q.value.params]).toEqual([['tag', '99'], ['expires', '60']]);
    expect(q.ok && q.value.uri?.params.get('transport')).toBe('tcp');
    const t = parseNameAddr('Carol   Ann\t<sip:carol@example.com>');
    expect(t.ok && t.value.displayName).toBe('Carol Ann');
    const tel = parseNameAddr('<tel:+1-201-555-0123>;tag=t');
    expect(tel.ok && tel.value).toMatchObject({ uriText: 'tel:+1-201-555-0123', uri: null });
  });

  it('gives the parameters of a bare addr-spec to the header, not the URI (RFC 3261 section 20.10)', () => {
    const bare = parseNameAddr('sip:bob@b.example.net;tag=88');
    expect(bare.ok && [bare.value.uriText, bare.value.params.get('tag'), bare.value.uri?.params.size]).toEqual(['sip:bob@b.example.net', '88', 0]);
    const inside = parseNameAddr('<sip:bob@b.example.net;tag=88>');
    expect(inside.ok && [inside.value.params.size, inside.value.uri?.params.get('tag')]).toEqual([0, '88']);
  });

  it('refuses broken name-addrs', () => {
    const cases: [string, string][] = [
      ['"unterminated <sip:a@b>', 'E_SIP_NAME_ADDR'], ['"name" sip:a@b', 'E_SIP_NAME_ADDR'], ['<sip:a@b', 'E_SIP_NAME_ADDR'],
      ['<>', 'E_SIP_NAME_ADDR'], ['<sip:a b@c>', 'E_SIP_NAME_ADDR'], ['<bob>', 'E_SIP_NAME_ADDR'], ['na"me <sip:a@b>', 'E_SIP_NAME_ADDR'],
      ['<sip:a@b>;=1', 'E_SIP_NAME_ADDR'], ['<sip:a@[::1>', 'E_SIP_HOST'], ['<sip:a@host:0>', 'E_SIP_HOST'],
    ];
    for (const [text, expected] of cases) expect(code(parseNameAddr(text)), text).toBe(expected);
  });

  it('reads Contact as * or a list of addresses', () => {
    expect(parseContact(' * ')).toEqual({ ok: true, value: { star: true } });
    const list = parseContact('"Doe, John" <sip:john@192.0.2.7>;q=0.7, <sip:john@[2001:db8::7]>;expires=0');
    expect(list.ok && !list.value.star && list.value.addresses.map((a) => [a.displayName, a.uri?.host])).toEqual([
      ['Doe, John', '192.0.2.7'], [null, '2001:db8::7'],
    ]);
    expect(code(parseContact('*, <sip:a@b>'))).toBe('E_SIP_CONTACT');
    expect(code(parseContact(''))).toBe('E_SIP_CONTACT');
    expect(code(parseContact('<sip:a@b>, <sip:c@'))).toBe('E_SIP_NAME_ADDR');
  });
});

describe('scalar headers', () => {
  it('reads CSeq, Max-Forwards, Content-Length and Expires within their ranges', () => {
    expect(parseCSeq(' 2147483647\tINVITE ')).toEqual({ ok: true, value: { seq: 2 ** 31 - 1, method: 'INVITE' } });
    expect(parseMaxForwards('0')).toEqual({ ok: true, value: 0 });
    expect(parseMaxForwards(' 255 ')).toEqual({ ok: true, value: 255 });
    expect(parseContentLength('0042')).toEqual({ ok: true, value: 42 });
    expect(parseExpires('4294967295')).toEqual({ ok: true, value: 2 ** 32 - 1 });
  });

  it('refuses values outside their ranges (RFC 4475-style overlarge scalars)', () => {
    const cases: [{ ok: boolean; error?: { code: string } }, string][] = [
      [parseCSeq('2147483648 INVITE'), 'E_SIP_CSEQ'], [parseCSeq('1'), 'E_SIP_CSEQ'], [parseCSeq('-1 INVITE'), 'E_SIP_CSEQ'], [parseCSeq('1 IN(VITE'), 'E_SIP_CSEQ'],
      [parseMaxForwards('256'), 'E_SIP_MAX_FORWARDS'], [parseMaxForwards('seventy'), 'E_SIP_MAX_FORWARDS'], [parseMaxForwards(''), 'E_SIP_MAX_FORWARDS'],
      [parseContentLength('-3'), 'E_SIP_CONTENT_LENGTH'], [parseContentLength('12345678901'), 'E_SIP_CONTENT_LENGTH'],
      [parseExpires('4294967296'), 'E_SIP_EXPIRES'], [parseExpires('10000000000000000000'), 'E_SIP_EXPIRES'], [parseExpires('1.5'), 'E_SIP_EXPIRES'],
    ];
    for (const [r, expected] of cases) expect(code(r)).toBe(expected);
  });
});
