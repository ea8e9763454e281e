/** A phone for the SIP proxy's integration tests: a UDP socket on loopback that sends SIP text and waits for what matches. */
import { createSocket, type Socket } from 'node:dgram';
import { headerValue, parseSipMessage, type SipMessage } from '../../../src/core/sip/message.ts';
import { EXPECTED_WITHIN_MS } from '../../support/wait.ts';

export class Phone {
  /** What came in and no wait has taken yet. */
  readonly inbox: SipMessage[] = [];
  private socket!: Socket;
  private waiters: { test: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void; timer: ReturnType<typeof setTimeout> }[] = [];
  port = 0;
  constructor(readonly user: string) {}

  async open(): Promise<void> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (data) => {
      const parsed = parseSipMessage(data.toString('latin1'));
      if (!parsed.ok) return;
      this.inbox.push(parsed.value);
      for (const w of [...this.waiters]) if (w.test(parsed.value)) (this.waiters.splice(this.waiters.indexOf(w), 1), w.resolve(parsed.value));
    });
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
    this.port = this.socket.address().port;
  }

  /** Sends SIP text written with plain newlines (made CRLF here) to a port on loopback. */
  send(text: string, port: number): void {
    this.socket.send(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'), port, '127.0.0.1');
  }

  /** The first message that matches, already in or still to come; taken out of the inbox. */
  wait(test: (m: SipMessage) => boolean, ms = EXPECTED_WITHIN_MS): Promise<SipMessage> {
    const seen = this.inbox.find(test);
    if (seen) {
      this.inbox.splice(this.inbox.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.user}: nothing matching in ${ms} ms; got ${this.inbox.map((m) => (m.kind === 'request' ? m.method : m.status)).join(',')}`)), ms);
      this.waiters.push({ test, timer, resolve: (m) => (clearTimeout(timer), this.inbox.splice(this.inbox.indexOf(m), 1), resolve(m)) });
    });
  }

  close(): void {
    // A wait a failed test left behind would fail a later one with its timeout: it ends here.
    for (const w of this.waiters.splice(0)) clearTimeout(w.timer);
    this.socket.close();
  }
}

export const isReq = (method: string, callId?: string) => (m: SipMessage) => m.kind === 'request' && m.method === method && (callId === undefined || headerValue(m, 'Call-ID') === callId);
export const isRes = (status: number, method: string, callId?: string) => (m: SipMessage) =>
  m.kind === 'response' && m.status === status && headerValue(m, 'CSeq')!.endsWith(method) && (callId === undefined || headerValue(m, 'Call-ID') === callId);

/** An SDP offer or answer for one G.711 audio stream at `address:port`. */
export function sdp(address: string, port: number): string {
  return `v=0\r\no=- 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n`;
}
