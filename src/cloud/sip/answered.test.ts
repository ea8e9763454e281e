import { describe, expect, it } from 'vitest';
import { sessionFromAnswered } from './answered.ts';

const b64 = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n')).toString('base64');
const offer = b64('v=0\no=- 1 1 IN IP4 192.168.1.20\ns=-\nc=IN IP4 192.168.1.20\nt=0 0\nm=audio 49170 RTP/AVP 0\na=ptime:20\n');
const answer = b64('v=0\no=- 1 1 IN IP4 198.18.20.20\ns=-\nc=IN IP4 198.18.20.20\nt=0 0\nm=audio 50170 RTP/AVP 0\n');
const body = { callId: 'k1@lab', caller: { source: '203.0.113.1', uri: 'sip:a@x' }, callee: { source: '198.18.20.20' }, offer, answer };

describe('the session API in SIP terms (Kamailio)', () => {
  it('reads the posted offer and answer into a session add that waits, unless told not to', () => {
    expect(sessionFromAnswered(body)).toEqual({
      ok: true,
      value: {
        callId: 'k1@lab', caller: { source: '203.0.113.1', uri: 'sip:a@x' }, callee: { source: '198.18.20.20' }, wait: true,
        media: [{ line: 0, type: 'audio', offer: { address: '192.168.1.20', port: 49170 }, answer: { address: '198.18.20.20', port: 50170 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
      },
    });
    expect(sessionFromAnswered({ ...body, wait: false, token: 'a.b.c' })).toMatchObject({ ok: true, value: { wait: false, token: 'a.b.c' } });
  });

  it('refuses what is not base64, not SDP, or gives no line for QoS, naming which side', () => {
    expect(sessionFromAnswered({ ...body, offer: 'not base64!' })).toMatchObject({ ok: false, error: { path: 'offer' } });
    expect(sessionFromAnswered({ ...body, answer: b64('hello') })).toMatchObject({ ok: false, error: { code: 'E_SDP', path: 'answer' } });
    const text = b64('v=0\nc=IN IP4 198.18.20.20\nm=application 9 UDP/BFCP *\n');
    expect(sessionFromAnswered({ ...body, offer: text, answer: text })).toMatchObject({ ok: false, error: { code: 'E_SDP' } });
    expect(sessionFromAnswered({ ...body, callee: { source: 'somewhere' } })).toMatchObject({ ok: false, error: { path: 'callee.source' } });
    expect(sessionFromAnswered({ ...body, extra: 1 })).toMatchObject({ ok: false, error: { code: 'E_UNKNOWN_FIELD' } });
  });
});
