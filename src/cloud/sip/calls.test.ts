import { describe, expect, it } from 'vitest';
import { PARTY_MAX } from '../../core/protocol/limits.ts';
import { sessionAddBody } from '../../core/protocol/messages/cc.ts';
import { validate } from '../../core/protocol/schema.ts';
import { sessionRequestFor, type CallRecord } from './calls.ts';
import { parseSdp } from './sdp.ts';

const crlf = (s: string) => s.trim().split('\n').map((l) => l.trim()).join('\r\n') + '\r\n';
const sdp = (address: string, port: number) => {
  const parsed = parseSdp(crlf(`
    v=0
    o=- 1 1 IN IP4 ${address}
    s=-
    c=IN IP4 ${address}
    t=0 0
    m=audio ${port} RTP/AVP 0
  `));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};

function callWith(callerUri: string, calleeUri: string): CallRecord {
  return {
    callId: 'c1@lab', callerTag: 't1', callerUri, calleeUri, callerSource: '203.0.113.1', calleeSource: '198.51.100.1',
    callerSdp: sdp('192.168.1.20', 4000), calleeSdp: sdp('198.18.20.20', 5000), pendingOffer: null, token: null,
    inSessionApi: false, holding: false, forwarded2xx: null, answered: true, startedAtMs: 0, lastSeenMs: 0,
  };
}

describe('the session request for a call', () => {
  it('always builds: a party URI past its bound is cut at a character boundary, an empty one left out', () => {
    // A surrogate pair straddles the bound: slice() would leave its first half, which no message may carry.
    const long = `sip:${'a'.repeat(PARTY_MAX - 6)}\u{1F4DE}@example.com`;
    const request = sessionRequestFor(callWith(long, ''), true);
    expect(request.ok).toBe(true);
    if (!request.ok) return;
    const { caller, callee } = request.value.body;
    expect(caller.uri).toBe(`sip:${'a'.repeat(PARTY_MAX - 6)}…`);
    expect(callee).toEqual({ source: '198.51.100.1' });
    expect(validate(sessionAddBody, request.value.body).ok).toBe(true);
  });
});
