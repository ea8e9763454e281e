/**
 * 100,000 fuzzed SIP messages and SDP bodies at the proxy, in-process (a transport stand-in that
 * records what the proxy sends): calls are built from a registration, an INVITE with SDP, a 200
 * with SDP, an ACK and a BYE, and each message is mutated before it arrives. The proxy must never
 * throw, must send only messages that parse, and must ask the session API only with requests that
 * pass the session schema.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/log.ts';
import { sessionAddBody, sessionDeleteBody, type SessionAddBody, type SessionDeleteBody, type SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { validate } from '../../../src/core/protocol/schema.ts';
import { ok, type Result } from '../../../src/core/result.ts';
import { headerValue, headerValues, parseSipMessage, serializeSipMessage, type SipMessage } from '../../../src/core/sip/message.ts';
import { SipProxy } from '../../../src/cloud/sip/proxy.ts';
import { Registrar } from '../../../src/cloud/sip/registrar.ts';
import type { SessionClient } from '../../../src/cloud/sip/session-client.ts';
import { TransactionLayer } from '../../../src/cloud/sip/transactions.ts';
import type { Peer, SipHandler, SipTransport } from '../../../src/cloud/sip/transport.ts';
import { prng } from '../../support/random.ts';

class FakeTransport {
  handler: SipHandler = () => {};
  sent = 0;
  unparsable = 0;
  /** The Via headers of the last INVITE the proxy sent on, by Call-ID: a callee's answer must carry them. */
  readonly forwardedVias = new Map<string, string>();
  readonly examples: string[] = [];
  onMessage(h: SipHandler): void {
    this.handler = h;
  }
  send(_to: Peer, msg: SipMessage): void {
    this.sent++;
    if (msg.kind === 'request' && msg.method === 'INVITE') {
      this.forwardedVias.set(headerValue(msg, 'Call-ID') ?? '', headerValues(msg, 'Via').map((v) => `Via: ${v}\r\n`).join(''));
    }
    const again = parseSipMessage(serializeSipMessage(msg));
    if (!again.ok) {
      this.unparsable++;
      if (this.unparsable <= 3) this.examples.push(`${again.error.code} ${again.error.message}: ${JSON.stringify(serializeSipMessage(msg).slice(0, 300))}`);
    }
  }
}

class CheckingSessions implements SessionClient {
  adds = 0;
  removes = 0;
  invalid: string[] = [];
  async add(body: SessionAddBody): Promise<Result<SessionStateBody>> {
    this.adds++;
    const v = validate(sessionAddBody, body);
    if (!v.ok) this.invalid.push(`add: ${v.error.path} ${v.error.message}`);
    return ok({ callId: body.callId, state: 'rejected', reason: 'fuzz', lines: [] });
  }
  async remove(body: SessionDeleteBody): Promise<Result<SessionStateBody>> {
    this.removes++;
    const v = validate(sessionDeleteBody, body);
    if (!v.ok) this.invalid.push(`remove: ${v.error.path} ${v.error.message}`);
    return ok({ callId: body.callId, state: 'ended', reason: null, lines: [] });
  }
}

const sdp = (ip: string, port: number) => `v=0\r\no=- 1 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 8\r\na=ptime:20\r\nm=video ${port + 2} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nb=AS:800\r\n`;

/** A call's messages in order; the 200 is made when it is due, with the Vias the proxy put on the INVITE it sent. */
function callMessages(n: number, forwardedVias: (callId: string) => string | undefined): (() => string)[] {
  const id = `fz-${n}@lab`;
  const offer = sdp('192.168.1.20', 40000 + (n % 1000) * 4);
  const answer = sdp('198.18.20.20', 50000 + (n % 1000) * 4);
  const common = (cseq: string, toTag = '') => `From: <sip:alice@a.example>;tag=a${n}\r\nTo: <sip:bob@a.example>${toTag}\r\nCall-ID: ${id}\r\nCSeq: ${cseq}\r\nMax-Forwards: 70\r\n`;
  const via = (b: string) => `Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK${b}${n};rport\r\n`;
  const proxyVia = `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp${n}\r\n`;
  return [
    () => `REGISTER sip:a.example SIP/2.0\r\n${via('r')}From: <sip:bob@a.example>;tag=r${n}\r\nTo: <sip:bob@a.example>\r\nCall-ID: reg-${n}\r\nCSeq: ${n + 1} REGISTER\r\nContact: <sip:bob@198.18.20.20:5070>\r\nContent-Length: 0\r\n\r\n`,
    () => `INVITE sip:bob@a.example SIP/2.0\r\n${via('i')}${common('1 INVITE')}Contact: <sip:alice@192.168.1.20>\r\nP-Media-Authorization: x.y.z\r\nContent-Type: application/sdp\r\nContent-Length: ${offer.length}\r\n\r\n${offer}`,
    () => `SIP/2.0 200 OK\r\n${forwardedVias(id) ?? `${proxyVia}${via('i')}`}${common('1 INVITE', ';tag=b')}Record-Route: <sip:127.0.0.1:5060;lr>\r\nContact: <sip:bob@198.18.20.20:5070>\r\nContent-Type: application/sdp\r\nContent-Length: ${answer.length}\r\n\r\n${answer}`,
    () => `ACK sip:bob@198.18.20.20:5070 SIP/2.0\r\n${via('a')}${common('1 ACK', ';tag=b')}Route: <sip:127.0.0.1:5060;lr>\r\nContent-Length: 0\r\n\r\n`,
    () => `CANCEL sip:bob@a.example SIP/2.0\r\n${via('i')}${common('1 CANCEL')}Content-Length: 0\r\n\r\n`,
    () => `BYE sip:alice@192.168.1.20 SIP/2.0\r\n${via('b')}${common('2 BYE', ';tag=b')}Route: <sip:127.0.0.1:5060;lr>\r\nContent-Length: 0\r\n\r\n`,
  ];
}

const PIECES = ['\r\n', ' ', ';', ',', ':', '<', '>', '"', '@', '[', ']', '0', '65536', 'tag=', 'branch=', 'z9hG4bK', 'c=IN IP4 999.1.1.1\r\n', 'm=audio 0 RTP/AVP 0\r\n', 'a=inactive\r\n', 'Content-Length: 9\r\n', 'Via: SIP/2.0/TCP [::1]:1\r\n'];

function mutate(text: string, rand: () => number): string {
  let out = text;
  const edits = Math.floor(rand() * 4); // sometimes none: whole calls get through
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (out.length + 1));
    const op = rand();
    if (op < 0.45) out = out.slice(0, at) + PIECES[Math.floor(rand() * PIECES.length)] + out.slice(at);
    else if (op < 0.75) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rand() * 10));
    else out = out.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + out.slice(at + 1);
  }
  return out;
}

describe('SIP proxy fuzzing', () => {
  it('takes 100,000 mutated messages without throwing; what it sends parses, what it asks the session API is valid', async () => {
    const rand = prng(Number(process.env.FUZZ_SEED ?? 5060));
    const transport = new FakeTransport();
    const log = createLogger(() => {}, 'error');
    const transactions = new TransactionLayer(transport as unknown as SipTransport, '127.0.0.1:5060', { t1: 1, t2: 4, proceedingMs: 50 });
    const registrar = new Registrar({ maxExpiresS: 3600, defaultExpiresS: 3600, now: Date.now });
    const sessions = new CheckingSessions();
    const proxy = new SipProxy(transport as unknown as SipTransport, transactions, registrar, sessions, { address: { host: '127.0.0.1', port: 5060 }, domains: ['a.example'], qos: 'forward', dialogTimeoutMs: 1000 }, log);
    const sources: Peer[] = [{ transport: 'UDP', host: '203.0.113.1', port: 5060 }, { transport: 'UDP', host: '198.18.20.20', port: 5070 }, { transport: 'TCP', host: '2001:db8::1', port: 5060 }];
    let delivered = 0;
    let parsedOk = 0;
    for (let n = 0; delivered < 100_000; n++) {
      for (const make of callMessages(n, (id) => transport.forwardedVias.get(id))) {
        const bytes = mutate(make(), rand);
        delivered++;
        const parsed = parseSipMessage(bytes);
        if (!parsed.ok) continue;
        parsedOk++;
        try {
          transport.handler(parsed.value, sources[Math.floor(rand() * sources.length)]!);
        } catch (err) {
          throw new Error(`message ${delivered} threw: ${String(err)}\n${JSON.stringify(bytes.slice(0, 400))}`);
        }
      }
      // Let the transactions' timers and the session API's promises run now and then.
      if (n % 200 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 100));
    proxy.expireDialogs();
    transactions.close();
    expect(sessions.invalid).toEqual([]);
    expect(transport.examples).toEqual([]);
    expect(transport.unparsable).toBe(0);
    // The fuzz must reach the interesting paths, not only the parser's refusals.
    expect(parsedOk).toBeGreaterThan(50_000);
    expect(sessions.adds).toBeGreaterThan(1000);
    expect(transport.sent).toBeGreaterThan(10_000);
  }, 120_000);
});
