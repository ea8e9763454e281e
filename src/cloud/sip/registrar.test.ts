import { describe, expect, it } from 'vitest';
import { parseSipMessage, type SipRequest } from '../../core/sip/message.ts';
import { Registrar } from './registrar.ts';

const peer = { transport: 'UDP' as const, host: '203.0.113.1', port: 5060 };

function register(user: string, contact: string, expires: number): SipRequest {
  const text = `REGISTER sip:a.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.20;branch=z9hG4bK${user}${expires}\r\nFrom: <sip:${user}@a.example>;tag=1\r\nTo: <sip:${user}@a.example>\r\nCall-ID: r-${user}\r\nCSeq: ${expires + 1} REGISTER\r\nContact: ${contact}\r\nExpires: ${expires}\r\nContent-Length: 0\r\n\r\n`;
  const parsed = parseSipMessage(text);
  if (!parsed.ok || parsed.value.kind !== 'request') throw new Error('fixture');
  return parsed.value;
}

describe('registrar', () => {
  it('keeps each binding with the flow it came from, refreshes and removes it, and forgets it once expired', () => {
    let now = 1_000_000;
    const r = new Registrar({ maxExpiresS: 3600, defaultExpiresS: 600, now: () => now });
    expect(r.register(register('alice', '<sip:alice@192.168.1.20:5060>', 60), peer, 't').status).toBe(200);
    expect(r.lookup('sip:alice@a.example')).toEqual([{ aor: 'sip:alice@a.example', contact: 'sip:alice@192.168.1.20:5060', source: peer, expiresAtMs: now + 60_000 }]);
    // Too long an expiry is cut to the maximum; a Contact that is no SIP URI is refused.
    r.register(register('bob', '<sip:bob@10.0.0.2>', 999_999), peer, 't');
    expect(r.lookup('sip:bob@a.example')[0]!.expiresAtMs).toBe(now + 3_600_000);
    expect(r.register(register('carol', '<tel:+15551234>', 60), peer, 't').status).toBe(400);
    now += 61_000;
    expect(r.lookup('sip:alice@a.example')).toEqual([]);
    expect(r.purge()).toBe(1);
    expect(r.size).toBe(1);
    // Expires 0 removes a binding.
    r.register(register('bob', '<sip:bob@10.0.0.2>', 0), peer, 't');
    expect(r.lookup('sip:bob@a.example')).toEqual([]);
    expect(r.size).toBe(0);
  });
});
