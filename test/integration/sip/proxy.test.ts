/**
 * The SIP proxy on loopback UDP with two phones played by the test and a recording session API:
 * registration, an INVITE routed to the callee's registered flow with Record-Route, the 200 OK
 * held until the session API answered and carrying the token, ACK and BYE through the proxy with
 * the session deleted by the side that hung up; CANCEL, a busy callee, an unknown user,
 * a retransmitted INVITE, and malformed datagrams that change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/log.ts';
import type { SessionAddBody, SessionDeleteBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { ok, type Result } from '../../../src/core/result.ts';
import { headerValue, headerValues, type SipMessage } from '../../../src/core/sip/message.ts';
import { SipProxy } from '../../../src/cloud/sip/proxy.ts';
import { Registrar } from '../../../src/cloud/sip/registrar.ts';
import type { SessionClient } from '../../../src/cloud/sip/session-client.ts';
import { TransactionLayer } from '../../../src/cloud/sip/transactions.ts';
import { SipTransport } from '../../../src/cloud/sip/transport.ts';
import { isReq, isRes, Phone, sdp } from './phone.ts';
import { until } from '../../support/wait.ts';

/** The session API as the proxy sees it, recording what it is asked and answering active with a token. */
class RecordingSessions implements SessionClient {
  readonly added: SessionAddBody[] = [];
  readonly removed: SessionDeleteBody[] = [];
  delayMs = 0;
  /** Calls the clearinghouse is made to refuse. */
  readonly unauthorized = new Set<string>();
  async add(body: SessionAddBody): Promise<Result<SessionStateBody>> {
    this.added.push(body);
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.unauthorized.has(body.callId)) return ok({ callId: body.callId, state: 'rejected', reason: 'E_NOT_AUTHORIZED: no settlement agreement', lines: [] });
    return ok({ callId: body.callId, state: 'active', reason: null, lines: [], token: 'tok.en.sig' });
  }
  async remove(body: SessionDeleteBody): Promise<Result<SessionStateBody>> {
    this.removed.push(body);
    return ok({ callId: body.callId, state: 'ended', reason: null, lines: [] });
  }
}

describe('SIP proxy (loopback UDP, phones played by the test)', () => {
  let transport: SipTransport;
  let proxy: SipProxy;
  const sessions = new RecordingSessions();
  const alice = new Phone('alice');
  const bob = new Phone('bob');
  const logs: string[] = [];
  let P = 0;

  function register(phone: Phone, cseq = 1): void {
    phone.send(
      `REGISTER sip:a.example SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK-reg-${phone.user}-${cseq};rport
Max-Forwards: 70
From: <sip:${phone.user}@a.example>;tag=r${cseq}
To: <sip:${phone.user}@a.example>
Call-ID: reg-${phone.user}@test
CSeq: ${cseq} REGISTER
Contact: <sip:${phone.user}@10.9.9.9:5060>
Expires: 600
Content-Length: 0

`,
      P,
    );
  }

  function invite(callId: string, branch: string, to = 'bob', body = sdp('192.168.1.20', 40000)): string {
    return `INVITE sip:${to}@a.example SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=${branch};rport
Max-Forwards: 70
From: "Alice" <sip:alice@a.example>;tag=alice-${callId}
To: <sip:${to}@a.example>
Call-ID: ${callId}
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:${alice.port}>
Content-Type: application/sdp
Content-Length: ${body.length}

${body}`;
  }

  /** The callee's answer to a request it received: Via, From, To (tagged), Call-ID, CSeq, Record-Route copied. */
  function answer(req: SipMessage, status: number, reason: string, body = ''): string {
    const vias = headerValues(req, 'Via').map((v) => `Via: ${v}`).join('\n');
    const rr = headerValues(req, 'Record-Route').map((v) => `Record-Route: ${v}`).join('\n');
    return `SIP/2.0 ${status} ${reason}
${vias}
${rr ? `${rr}\n` : ''}From: ${headerValue(req, 'From')}
To: ${headerValue(req, 'To')};tag=bob-tag
Call-ID: ${headerValue(req, 'Call-ID')}
CSeq: ${headerValue(req, 'CSeq')}
Contact: <sip:bob@127.0.0.1:${bob.port}>
${body ? 'Content-Type: application/sdp\n' : ''}Content-Length: ${body.length}

${body}`;
  }

  beforeAll(async () => {
    const log = createLogger((l) => logs.push(l), 'debug');
    transport = await SipTransport.listen('127.0.0.1', 0, log);
    P = transport.port;
    const transactions = new TransactionLayer(transport, `127.0.0.1:${P}`, { t1: 100, t2: 400, proceedingMs: 5000 });
    const registrar = new Registrar({ maxExpiresS: 3600, defaultExpiresS: 3600, now: Date.now });
    proxy = new SipProxy(transport, transactions, registrar, sessions, { address: { host: '127.0.0.1', port: P }, domains: ['a.example'], qos: 'hold', dialogTimeoutMs: 60_000, unauthorized: 'refuse' }, log);
    await alice.open();
    await bob.open();
    register(alice);
    register(bob);
    const okA = await alice.wait(isRes(200, 'REGISTER'));
    expect(headerValue(okA, 'Contact')).toMatch(/^<sip:alice@10\.9\.9\.9:5060>;expires=600$/);
    await bob.wait(isRes(200, 'REGISTER'));
  });

  afterAll(async () => {
    alice.close();
    bob.close();
    await transport.close();
  });

  it('routes an INVITE to the callee\'s registered flow, holds the 200 until QoS is active, and carries the token', async () => {
    sessions.delayMs = 150;
    alice.send(invite('call-1', 'z9hG4bK-c1'), P);
    await alice.wait(isRes(100, 'INVITE', 'call-1'));
    const inv = await bob.wait(isReq('INVITE', 'call-1'));
    expect((inv as { uri: string }).uri).toBe('sip:bob@10.9.9.9:5060'); // the registered contact, sent to the flow it came from
    expect(headerValues(inv, 'Record-Route')[0]).toBe(`<sip:127.0.0.1:${P};lr>`);
    expect(headerValues(inv, 'Via')).toHaveLength(2);
    expect(headerValue(inv, 'Max-Forwards')).toBe('69');
    bob.send(answer(inv, 180, 'Ringing'), P);
    await alice.wait(isRes(180, 'INVITE', 'call-1'));
    const sentAt = Date.now();
    bob.send(answer(inv, 200, 'OK', sdp('198.18.20.20', 50000)), P);
    const ok200 = await alice.wait(isRes(200, 'INVITE', 'call-1'));
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(140); // held while the session API worked
    expect(headerValue(ok200, 'P-Media-Authorization')).toBe('tok.en.sig');
    expect(headerValues(ok200, 'Via')).toHaveLength(1);
    expect(sessions.added.at(-1)).toEqual({
      callId: 'call-1',
      caller: { source: '127.0.0.1', uri: 'sip:alice@a.example' },
      callee: { source: '127.0.0.1', uri: 'sip:bob@a.example' },
      media: [{ line: 0, type: 'audio', offer: { address: '192.168.1.20', port: 40000 }, answer: { address: '198.18.20.20', port: 50000 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
      wait: true,
    });
    // A repeated 200 (the callee has no ACK yet) reaches the caller again, token and all.
    bob.send(answer(inv, 200, 'OK', sdp('198.18.20.20', 50000)), P);
    expect(headerValue(await alice.wait(isRes(200, 'INVITE', 'call-1')), 'P-Media-Authorization')).toBe('tok.en.sig');
    expect(sessions.added.filter((b) => b.callId === 'call-1')).toHaveLength(1);

    // ACK and BYE follow the Record-Route through the proxy.
    alice.send(`ACK sip:bob@127.0.0.1:${bob.port} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-ack1;rport
Route: <sip:127.0.0.1:${P};lr>
Max-Forwards: 70
From: "Alice" <sip:alice@a.example>;tag=alice-call-1
To: <sip:bob@a.example>;tag=bob-tag
Call-ID: call-1
CSeq: 1 ACK
Content-Length: 0

`, P);
    await bob.wait(isReq('ACK', 'call-1'));
    bob.send(`BYE sip:alice@127.0.0.1:${alice.port} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${bob.port};branch=z9hG4bK-bye1;rport
Route: <sip:127.0.0.1:${P};lr>
Max-Forwards: 70
From: <sip:bob@a.example>;tag=bob-tag
To: "Alice" <sip:alice@a.example>;tag=alice-call-1
Call-ID: call-1
CSeq: 7 BYE
Content-Length: 0

`, P);
    const bye = await alice.wait(isReq('BYE', 'call-1'));
    // Alice talks until the BYE reaches her: her media still counts, so the session lasts until she answers.
    expect(sessions.removed.filter((r) => r.callId === 'call-1')).toEqual([]);
    alice.send(answer(bye, 200, 'OK').replace(/;tag=bob-tag/, ''), P);
    await bob.wait(isRes(200, 'BYE', 'call-1'));
    expect(sessions.removed.at(-1)).toEqual({ callId: 'call-1', reason: 'BYE from callee', releasedBy: 'callee', sipStatus: 200 });
    expect(proxy.calls.size).toBe(0);
  });

  it('cancels an unanswered call downstream, passes the 487 back, and leaves no session', async () => {
    const before = sessions.added.length;
    alice.send(invite('call-2', 'z9hG4bK-c2'), P);
    const inv = await bob.wait(isReq('INVITE', 'call-2'));
    bob.send(answer(inv, 180, 'Ringing'), P);
    await alice.wait(isRes(180, 'INVITE', 'call-2'));
    alice.send(`CANCEL sip:bob@a.example SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-c2;rport
Max-Forwards: 70
From: "Alice" <sip:alice@a.example>;tag=alice-call-2
To: <sip:bob@a.example>
Call-ID: call-2
CSeq: 1 CANCEL
Content-Length: 0

`, P);
    await alice.wait(isRes(200, 'CANCEL', 'call-2'));
    const cancel = await bob.wait(isReq('CANCEL', 'call-2'));
    expect(headerValues(cancel, 'Via')[0]).toBe(headerValues(inv, 'Via')[0]); // the same branch as the INVITE it cancels
    bob.send(answer(cancel, 200, 'OK'), P);
    bob.send(answer(inv, 487, 'Request Terminated'), P);
    await alice.wait(isRes(487, 'INVITE', 'call-2'));
    await bob.wait(isReq('ACK', 'call-2')); // the proxy acknowledges the failure hop by hop
    expect(sessions.added.length).toBe(before);
    expect(proxy.calls.get('call-2')).toBeUndefined();
  });

  it('passes a busy callee\'s failure back, answers 404 for an unknown user, and forwards a retransmitted INVITE once', async () => {
    alice.send(invite('call-3', 'z9hG4bK-c3'), P);
    alice.send(invite('call-3', 'z9hG4bK-c3'), P);
    const inv = await bob.wait(isReq('INVITE', 'call-3'));
    bob.send(answer(inv, 486, 'Busy Here'), P);
    await alice.wait(isRes(486, 'INVITE', 'call-3'));
    await new Promise((r) => setTimeout(r, 150));
    expect(bob.inbox.filter(isReq('INVITE', 'call-3'))).toHaveLength(0);

    alice.send(invite('call-4', 'z9hG4bK-c4', 'nobody'), P);
    await alice.wait(isRes(404, 'INVITE', 'call-4'));
  });

  it('refuses a call the clearinghouse did not authorize (policy refuse): 403 to the caller, ACK and BYE to the callee', async () => {
    sessions.unauthorized.add('call-5');
    alice.send(invite('call-5', 'z9hG4bK-c5'), P);
    const inv = await bob.wait(isReq('INVITE', 'call-5'));
    bob.send(answer(inv, 200, 'OK', sdp('198.18.20.20', 50004)), P);
    const refused = await alice.wait(isRes(403, 'INVITE', 'call-5'));
    expect((refused as { reason: string }).reason).toBe('Forbidden (QoS not authorized)');
    const ack = await bob.wait(isReq('ACK', 'call-5'));
    expect(headerValue(ack, 'CSeq')).toBe('1 ACK');
    const bye = await bob.wait(isReq('BYE', 'call-5'));
    expect(headerValue(bye, 'To')).toContain('tag=bob-tag');
    expect(headerValue(bye, 'CSeq')).toBe('2 BYE');
    bob.send(answer(bye, 200, 'OK').replace(/;tag=bob-tag;tag=bob-tag/, ';tag=bob-tag'), P);
    expect(sessions.removed.at(-1)).toEqual({ callId: 'call-5', reason: 'not authorized', releasedBy: 'network', sipStatus: 403 });
    expect(proxy.calls.get('call-5')).toBeUndefined();
    // The caller's ACK for the 403 stays at the proxy.
    alice.send(`ACK sip:bob@a.example SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-c5;rport
Max-Forwards: 70
From: "Alice" <sip:alice@a.example>;tag=alice-call-5
To: <sip:bob@a.example>;tag=${headerValue(refused, 'To')!.split('tag=')[1]}
Call-ID: call-5
CSeq: 1 ACK
Content-Length: 0

`, P);
    await new Promise((r) => setTimeout(r, 100));
    expect(bob.inbox.filter(isReq('ACK', 'call-5'))).toEqual([]);
  });

  it('ends the session of a call whose BYE nobody answers when the BYE times out', async () => {
    sessions.delayMs = 0;
    alice.send(invite('call-7', 'z9hG4bK-c7'), P);
    const inv = await bob.wait(isReq('INVITE', 'call-7'));
    bob.send(answer(inv, 200, 'OK', sdp('198.18.20.20', 50070)), P);
    await alice.wait(isRes(200, 'INVITE', 'call-7'));
    alice.send(`BYE sip:bob@127.0.0.1:${bob.port} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-bye7;rport
Route: <sip:127.0.0.1:${P};lr>
Max-Forwards: 70
From: "Alice" <sip:alice@a.example>;tag=alice-call-7
To: <sip:bob@a.example>;tag=bob-tag
Call-ID: call-7
CSeq: 2 BYE
Content-Length: 0

`, P);
    await bob.wait(isReq('BYE', 'call-7'));
    expect(sessions.removed.filter((r) => r.callId === 'call-7')).toEqual([]);
    // Bob never answers: the BYE's transaction times out after 64 T1 (6.4 s with this test's T1).
    await until(() => sessions.removed.some((r) => r.callId === 'call-7'), 'the session delete after the BYE timed out');
    expect(sessions.removed.filter((r) => r.callId === 'call-7')).toEqual([{ callId: 'call-7', reason: 'BYE from caller, unanswered', releasedBy: 'caller', sipStatus: 408 }]);
  });

  it('drops malformed datagrams, logs them at most once a second per kind, and keeps working', async () => {
    for (const junk of ['', 'INVITE', 'SIP/2.0 200', 'INVITE sip:x SIP/2.0\r\n\r\n', '\u00ff'.repeat(70_000)]) alice.send(junk, P);
    alice.send(`OPTIONS sip:127.0.0.1:${P} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-opt;rport
Max-Forwards: 70
From: <sip:alice@a.example>;tag=o1
To: <sip:127.0.0.1:${P}>
Call-ID: opt-1
CSeq: 1 OPTIONS
Content-Length: 0

`, P);
    await alice.wait(isRes(200, 'OPTIONS', 'opt-1'));
    expect(logs.some((l) => l.includes('SIP message dropped'))).toBe(true);
  });
});
