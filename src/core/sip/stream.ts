/**
 * Framing SIP over a stream (TCP, TLS): bytes in, whole messages out, the rest kept for the next
 * chunk. On a stream Content-Length is mandatory (RFC 3261 section 18.3): it is the only thing that
 * says where a message ends. Between messages a client may send CRLF keep-alives (RFC 5626
 * section 3.5.1: a double CRLF "ping" expects a single CRLF "pong"); they are counted, not passed
 * on. A framing error leaves nothing sensible to resynchronise on: the caller closes the stream.
 *
 *   createSipStreamParser(options?) -> push(chunk) gives parsed messages (each a Result) and pings
 *   SipStreamFramer                 -> push(chunk) gives the raw message texts (for transports that
 *                                      parse themselves)
 *
 * The framer's states, as data (FramerState):
 *   between -> skip CRLFs, two in a row make a ping; anything else starts a head
 *   head    -> look for the empty line (resuming where the last chunk's search stopped, so a head
 *              dribbled in byte by byte costs linear time); read Content-Length from the head
 *   body    -> wait until the whole message is there; emit it, back to `between`
 *   failed  -> a framing error; every later push reports it again
 * Pure: no timers or sockets; a chunk is a byte string (`Buffer#toString('latin1')`).
 */
import { coreError, fail, ok, type CoreError, type Result } from '../result.ts';
import { parseSipMessage, type SipParseOptions } from './message.ts';
import { readHeaderField } from './names.ts';
import { DEFAULT_SIP_LIMITS, SipError, type SipMessage } from './types.ts';

export type FramerState =
  | { readonly phase: 'between'; readonly crlfRun: number }
  | { readonly phase: 'head'; readonly searched: number }
  | { readonly phase: 'body'; readonly total: number }
  | { readonly phase: 'failed'; readonly error: CoreError };

export interface Framed {
  /** Whole messages, each a byte string for parseSipMessage. */
  readonly messages: string[];
  /** Double-CRLF pings seen in this push, each owed a CRLF pong. */
  readonly pings: number;
}

export interface SipStreamOutput {
  /** One per message framed in this push; a message that frames but does not parse is a failure
   * here while the stream goes on; a framing failure is the last entry, and the stream is done. */
  readonly results: Result<SipMessage>[];
  readonly pings: number;
}

/** Parse options less the two a stream fixes: bytes (a chunk may end inside a UTF-8 character,
 * so text cannot be decoded before framing) and a required Content-Length. */
export type SipStreamOptions = Omit<SipParseOptions, 'encoding' | 'requireContentLength'>;

export interface SipStreamParser {
  push(chunk: string): SipStreamOutput;
  readonly state: FramerState;
  /** Bytes held for a message not yet complete. */
  readonly buffered: number;
}

/** Content-Length of a complete head: the number, or an error (absent, not a number, two values). */
function contentLength(head: string): Result<number> {
  const lines = head.split('\r\n');
  const values = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    let raw = lines[i]!;
    if (raw[0] === ' ' || raw[0] === '\t') continue;
    while (i + 1 < lines.length && (lines[i + 1]![0] === ' ' || lines[i + 1]![0] === '\t')) raw += `\r\n${lines[++i]!}`;
    const field = readHeaderField(raw);
    if (field?.name === 'Content-Length') values.add(field.value);
  }
  const [value, ...others] = [...values];
  if (value === undefined) return fail(coreError(SipError.CONTENT_LENGTH, 'a message on a stream without Content-Length (RFC 3261 section 18.3)'));
  if (others.length > 0 || !/^\d{1,7}$/.test(value)) return fail(coreError(SipError.CONTENT_LENGTH, `Content-Length ${JSON.stringify(value.slice(0, 20))} on a stream is not one number of bytes (RFC 3261 section 18.3)`));
  return ok(Number(value));
}

/**
 * The framing state machine; `maxMessageBytes` bounds what one message may hold. While a message
 * is incomplete its chunks are held in a list, not appended to one string: searching a string
 * grown one small chunk at a time makes the engine copy all of it on every push, which turns a
 * head dribbled in byte by byte into quadratic work. Only the seam (the last three bytes held and
 * the new chunk) is searched for the empty line; the pieces are joined once, when a message is
 * complete.
 */
function createFramer(maxMessageBytes: number) {
  let buffer = '';
  let held: string[] = [];
  let heldLength = 0;
  /** The last three bytes of what is held (buffer and chunks): the seam a head end may straddle. */
  let tail = '';
  let state: FramerState = { phase: 'between', crlfRun: 0 };

  /** Keeps an incomplete message's chunk for later, unless the message is already too large. */
  function hold(chunk: string): CoreError | null {
    held.push(chunk);
    heldLength += chunk.length;
    tail = chunk.length >= 3 ? chunk.slice(-3) : (tail + chunk).slice(-3);
    const size = buffer.length + heldLength;
    if (state.phase === 'head') {
      if (size > maxMessageBytes) return coreError(SipError.TOO_LARGE, `no end of headers within ${maxMessageBytes} bytes`);
      state = { phase: 'head', searched: Math.max(0, size - 3) };
    }
    return null;
  }

  /** Whether the chunk can only be held: no head end at the seam, or the body still short. */
  function mustWait(chunk: string): boolean {
    if (state.phase === 'head') return (tail + chunk).indexOf('\r\n\r\n') === -1;
    return state.phase === 'body' && buffer.length + heldLength + chunk.length < state.total;
  }

  function push(chunk: string): Framed & { readonly error?: CoreError } {
    if (state.phase === 'failed') return { messages: [], pings: 0, error: state.error };
    const messages: string[] = [];
    let pings = 0;
    const failWith = (error: CoreError) => {
      state = { phase: 'failed', error };
      buffer = '';
      held = [];
      heldLength = 0;
      tail = '';
      return { messages, pings, error };
    };
    if (mustWait(chunk)) {
      const error = hold(chunk);
      return error === null ? { messages, pings } : failWith(error);
    }
    buffer = held.length > 0 ? buffer + held.join('') + chunk : buffer + chunk;
    held = [];
    heldLength = 0;
    // Positions advance over the buffer and it is cut once at the end: slicing per message would
    // copy the rest of a large chunk again for each of many small messages it holds.
    let pos = 0;
    for (;;) {
      if (state.phase === 'between') {
        let run = state.crlfRun;
        while (buffer.startsWith('\r\n', pos)) {
          pos += 2;
          if (++run === 2) {
            pings++;
            run = 0;
          }
        }
        // Nothing more yet, or half of a CRLF: the run goes on in the next chunk.
        if (pos === buffer.length || (pos === buffer.length - 1 && buffer[pos] === '\r')) {
          state = { phase: 'between', crlfRun: run };
          break;
        }
        state = { phase: 'head', searched: 0 };
      }
      if (state.phase === 'head') {
        const end = buffer.indexOf('\r\n\r\n', pos + state.searched);
        if (end === -1) {
          const size = buffer.length - pos;
          if (size > maxMessageBytes) return failWith(coreError(SipError.TOO_LARGE, `no end of headers within ${maxMessageBytes} bytes`));
          state = { phase: 'head', searched: Math.max(0, size - 3) };
          break;
        }
        const length = contentLength(buffer.slice(pos, end));
        if (!length.ok) return failWith(length.error);
        const total = end + 4 - pos + length.value;
        if (total > maxMessageBytes) return failWith(coreError(SipError.TOO_LARGE, `a message of ${total} bytes, more than ${maxMessageBytes}`));
        state = { phase: 'body', total };
      }
      if (state.phase === 'body') {
        if (buffer.length - pos < state.total) break;
        messages.push(buffer.slice(pos, pos + state.total));
        pos += state.total;
        state = { phase: 'between', crlfRun: 0 };
      }
    }
    buffer = buffer.slice(pos);
    tail = buffer.slice(-3);
    return { messages, pings };
  }

  return {
    push,
    get state(): FramerState {
      return state;
    },
    get buffered(): number {
      return buffer.length + heldLength;
    },
  };
}

/** Raw framing only: messages come out as text for the caller's own parseSipMessage. */
export class SipStreamFramer {
  private readonly framer: ReturnType<typeof createFramer>;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.framer = createFramer(options.maxMessageBytes ?? DEFAULT_SIP_LIMITS.maxMessageBytes);
  }

  /** The messages framed, or the framing error (messages framed before it in the same chunk are
   * dropped with it: the caller closes the stream, and half a conversation is worth nothing). */
  push(chunk: string): Result<Framed> {
    const { messages, pings, error } = this.framer.push(chunk);
    return error === undefined ? ok({ messages, pings }) : fail(error);
  }

  get state(): FramerState {
    return this.framer.state;
  }

  get buffered(): number {
    return this.framer.buffered;
  }
}

/** Framing and parsing: each message framed is parsed with the same limits and Content-Length required. */
export function createSipStreamParser(options: SipStreamOptions = {}): SipStreamParser {
  const framer = createFramer(options.maxMessageBytes ?? DEFAULT_SIP_LIMITS.maxMessageBytes);
  const parseOptions: SipParseOptions = { ...options, encoding: 'bytes', requireContentLength: true };
  return {
    push(chunk: string): SipStreamOutput {
      const { messages, pings, error } = framer.push(chunk);
      const results: Result<SipMessage>[] = messages.map((text) => parseSipMessage(text, parseOptions));
      if (error !== undefined) results.push(fail(error));
      return { results, pings };
    },
    get state(): FramerState {
      return framer.state;
    },
    get buffered(): number {
      return framer.buffered;
    },
  };
}
