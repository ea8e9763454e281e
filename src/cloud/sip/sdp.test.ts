import { describe, expect, it } from 'vitest';
import { prng } from '../../../test/support/random.ts';
import { mediaLine } from '../../core/protocol/messages/cc.ts';
import { validate } from '../../core/protocol/schema.ts';
import { mediaLines, parseSdp } from './sdp.ts';

const crlf = (s: string) => s.trim().split('\n').map((l) => l.trim()).join('\r\n') + '\r\n';

const offer = crlf(`
  v=0
  o=alice 2890844526 2890844526 IN IP4 192.168.1.20
  s=-
  c=IN IP4 192.168.1.20
  t=0 0
  m=audio 49170 RTP/AVP 0 8 101
  a=rtpmap:101 telephone-event/8000
  a=ptime:20
  m=video 49172 RTP/AVP 96
  b=AS:1500
  a=rtpmap:96 H264/90000
  a=sendonly
  m=application 5000 UDP/BFCP *
`);

const answer = crlf(`
  v=0
  o=bob 2808844564 2808844564 IN IP4 198.18.20.20
  s=-
  c=IN IP4 198.18.20.20
  t=0 0
  m=audio 3456 RTP/AVP 8
  c=IN IP4 198.18.20.21
  m=video 0 RTP/AVP 96
  a=rtpmap:96 H264/90000
  m=application 0 UDP/BFCP *
`);

describe('SDP offer and answer', () => {
  it('pairs m-lines: both ends, the codec the answer chose, ptime, b=AS, media-level c= over session-level', () => {
    const o = parseSdp(offer);
    const a = parseSdp(answer);
    if (!o.ok || !a.ok) throw new Error('fixtures must parse');
    const r = mediaLines(o.value, a.value);
    expect(r).toEqual({
      ok: true,
      value: {
        skipped: [],
        lines: [
          { line: 0, type: 'audio', offer: { address: '192.168.1.20', port: 49170 }, answer: { address: '198.18.20.21', port: 3456 }, direction: 'sendrecv', codec: { name: 'PCMA', clockRate: 8000, ptimeMs: 20 } },
          // The answer refused the video stream (port 0): the line is there, inactive, so that its gates go.
          { line: 1, type: 'video', offer: { address: '192.168.1.20', port: 49172 }, answer: { address: '198.18.20.20', port: 0 }, direction: 'inactive', codec: { name: 'H264', clockRate: 90000, bandwidthKbps: 1500 } },
        ],
      },
    });
    for (const line of r.ok ? r.value.lines : []) expect(validate(mediaLine, line).ok).toBe(true);
  });

  it('reads IPv6, opus with two channels, and a=inactive', () => {
    const v6 = crlf(`
      v=0
      o=- 1 1 IN IP6 2001:db8:a:1::20
      s=-
      c=IN IP6 2001:DB8:A:1:0:0:0:20
      t=0 0
      m=audio 4000 RTP/AVP 111
      a=rtpmap:111 opus/48000/2
      a=inactive
    `);
    const o = parseSdp(v6);
    expect(o.ok && o.value.media[0]).toEqual({ index: 0, type: 'audio', port: 4000, address: '2001:db8:a:1::20', direction: 'inactive', codecs: [{ payload: 111, name: 'opus', clockRate: 48000, channels: 2 }] });
  });

  it('refuses what is not SDP, too large, or an answer with another number of m-lines; skips a line without an IP address', () => {
    expect(parseSdp('hello')).toMatchObject({ ok: false, error: { code: 'E_SDP' } });
    expect(parseSdp(`v=0\r\n${'a=x\r\n'.repeat(5000)}`)).toMatchObject({ ok: false, error: { code: 'E_SDP' } });
    expect(parseSdp(crlf('v=0\nm=audio 99999 RTP/AVP 0'))).toMatchObject({ ok: false, error: { message: 'm-line 0: port missing or not 0..65535' } });
    const o = parseSdp(offer);
    const short = parseSdp(crlf('v=0\nc=IN IP4 198.18.20.20\nm=audio 3456 RTP/AVP 0'));
    if (!o.ok || !short.ok) throw new Error('must parse');
    expect(mediaLines(o.value, short.value)).toMatchObject({ ok: false, error: { message: 'the answer has 1 m-lines, the offer 3 (RFC 3264 section 6)' } });
    const named = parseSdp(crlf('v=0\nc=IN IP4 media.example.net\nm=audio 3456 RTP/AVP 0\nm=video 0 RTP/AVP 96\nm=application 0 UDP/BFCP *'));
    if (!named.ok) throw new Error('must parse');
    expect(mediaLines(o.value, named.value)).toMatchObject({ ok: true, value: { lines: [], skipped: ['m-line 0: no IP address in c= on the answer', 'm-line 1: no IP address in c= on the answer'] } });
  });

  it('never throws on 20,000 mutated bodies, and every media line it gives passes the session schema', () => {
    const rand = prng(Number(process.env.FUZZ_SEED ?? 4566));
    const seeds = [offer, answer];
    const pieces = ['\r\n', ' ', 'm=audio 1 RTP/AVP 0\r\n', 'c=IN IP6 ::1\r\n', 'c=IN IP4 999.1.1.1\r\n', 'a=rtpmap:0 X/0\r\n', 'b=AS:-1\r\n', 'a=ptime:0\r\n', '0', '/', ':', '65536', 'm=', '\u00ff'];
    let lines = 0;
    for (let n = 0; n < 20_000; n++) {
      let text = seeds[n % 2]!;
      for (let e = 0; e < 1 + Math.floor(rand() * 3); e++) {
        const at = Math.floor(rand() * text.length);
        const op = rand();
        if (op < 0.5) text = text.slice(0, at) + pieces[Math.floor(rand() * pieces.length)] + text.slice(at);
        else if (op < 0.8) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 6));
        else text = text.slice(0, at) + String.fromCharCode(Math.floor(rand() * 128)) + text.slice(at + 1);
      }
      const o = parseSdp(text);
      const a = parseSdp(seeds[(n + 1) % 2]!);
      if (!o.ok || !a.ok) continue;
      const r = mediaLines(o.value, a.value);
      if (!r.ok) continue;
      for (const line of r.value.lines) {
        lines++;
        const checked = validate(mediaLine, line);
        expect(checked.ok, `case ${n}: ${JSON.stringify(line)}`).toBe(true);
      }
    }
    expect(lines).toBeGreaterThan(5000);
  });
});
