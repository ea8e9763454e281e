/**
 * Framing SIP over a stream (TCP, TLS): bytes in, whole messages out, the rest kept for the next
 * chunk. On a stream Content-Length is mandatory (RFC 3261 section 18.3): it is the only thing that
 * says where a message ends. Between messages a client may send CRLF keep-alives (RFC 5626
 * section 3.5.1: a double CRLF "ping" expects a single CRLF "pong"); they are counted, not passed
 * on. A framing error leaves nothing sensible to resynchronise on: the caller closes the stream.
 *
 * The framer's states, as data:
 *   between  -> skip CRLFs; anything else starts a head
 *   head     -> wait for the empty line; read Content-Length from the head
 *   body     -> wait for that many bytes; emit the message, back to `between`
 */
import { coreError, fail, ok, type Result } from '../result.ts';
import { MAX_SIP_MESSAGE_BYTES, SipError } from './message.ts';

export interface Framed {
  /** Whole messages, each a byte string for parseSipMessage. */
  readonly messages: string[];
  /** Double-CRLF pings seen since the last push, each owed a CRLF pong. */
  readonly pings: number;
}

const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(\d{1,7})[ \t]*$/im;

export class SipStreamFramer {
  private buffer = '';
  /** Where the head ends and how long the body is, once the head is complete. */
  private pending: { headEnd: number; length: number } | null = null;
  /** CRLFs seen in a row between messages: two make a ping. */
  private crlfRun = 0;

  push(chunk: string): Result<Framed> {
    this.buffer += chunk;
    const messages: string[] = [];
    let pings = 0;
    for (;;) {
      if (this.pending === null) {
        // between messages: CRLF keep-alives, counted across chunks
        let skip = 0;
        while (this.buffer.startsWith('\r\n', skip)) {
          skip += 2;
          this.crlfRun += 1;
          if (this.crlfRun === 2) {
            pings += 1;
            this.crlfRun = 0;
          }
        }
        if (skip > 0) this.buffer = this.buffer.slice(skip);
        if (this.buffer === '' || this.buffer === '\r') break;
        this.crlfRun = 0;
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end === -1) {
          if (this.buffer.length > MAX_SIP_MESSAGE_BYTES) return fail(coreError(SipError.TOO_LARGE, `no end of headers within ${MAX_SIP_MESSAGE_BYTES} bytes`));
          break;
        }
        const m = CONTENT_LENGTH.exec(this.buffer.slice(0, end));
        if (!m) return fail(coreError(SipError.CONTENT_LENGTH, 'a message on a stream without Content-Length (RFC 3261 section 18.3)'));
        const length = Number(m[1]);
        if (end + 4 + length > MAX_SIP_MESSAGE_BYTES) return fail(coreError(SipError.TOO_LARGE, `a message of ${end + 4 + length} bytes, more than ${MAX_SIP_MESSAGE_BYTES}`));
        this.pending = { headEnd: end + 4, length };
      }
      const total = this.pending.headEnd + this.pending.length;
      if (this.buffer.length < total) break;
      messages.push(this.buffer.slice(0, total));
      this.buffer = this.buffer.slice(total);
      this.pending = null;
    }
    return ok({ messages, pings });
  }

  /** Bytes held for a message not yet complete. */
  get buffered(): number {
    return this.buffer.length;
  }
}
