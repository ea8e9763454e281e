/**
 * SIP message shapes, error codes and limits, shared by the parser, the serialiser, the stream
 * framer and the header parsers. Kept apart so that those modules depend on data only, not on
 * each other.
 *
 * Strings are byte strings by default: one character per byte, as `Buffer#toString('latin1')`
 * gives them, so that Content-Length counts what it counts on the wire and a header goes out
 * exactly as it came in. Callers holding decoded Unicode text use `encoding: 'text'` instead.
 */

/** Stable error codes; callers match on these, never on messages. */
export const SipError = {
  TOO_LARGE: 'E_SIP_TOO_LARGE',
  START_LINE: 'E_SIP_START_LINE',
  HEADER: 'E_SIP_HEADER',
  MISSING_HEADER: 'E_SIP_MISSING_HEADER',
  CONTENT_LENGTH: 'E_SIP_CONTENT_LENGTH',
  CSEQ: 'E_SIP_CSEQ',
  MAX_FORWARDS: 'E_SIP_MAX_FORWARDS',
  EXPIRES: 'E_SIP_EXPIRES',
  URI: 'E_SIP_URI',
  HOST: 'E_SIP_HOST',
  PARAM: 'E_SIP_PARAM',
  VIA: 'E_SIP_VIA',
  NAME_ADDR: 'E_SIP_NAME_ADDR',
  CONTACT: 'E_SIP_CONTACT',
} as const;

export const MAX_SIP_MESSAGE_BYTES = 64 * 1024;
export const MAX_SIP_HEADERS = 200;
export const MAX_SIP_LINE_BYTES = 8 * 1024;

export interface SipLimits {
  /** Whole message (head and body), and what a stream may hold of one unfinished message. */
  readonly maxMessageBytes: number;
  /** Header fields (after folding), not values: `Via: a, b` is one. */
  readonly maxHeaders: number;
  /** One physical line, start line included. */
  readonly maxLineBytes: number;
}

export const DEFAULT_SIP_LIMITS: SipLimits = {
  maxMessageBytes: MAX_SIP_MESSAGE_BYTES,
  maxHeaders: MAX_SIP_HEADERS,
  maxLineBytes: MAX_SIP_LINE_BYTES,
};

/**
 * `bytes`: every character is one byte (the default; what the transports hand over).
 * `text`: the input was decoded as UTF-8, so a body's length in bytes is its UTF-8 length.
 */
export type SipEncoding = 'bytes' | 'text';

export interface SipHeader {
  /** Canonical spelling (`Via`, `Call-ID`), compact forms expanded. */
  readonly name: string;
  /** As received, folded lines joined with one space, outer whitespace trimmed. */
  readonly value: string;
  /**
   * The whole field as received (name spelling, spacing, folding with CRLF line breaks), set by
   * the parser. The serialiser writes it back unchanged while it still reads as `name` and
   * `value`, so a proxy forwards untouched headers byte for byte; a header built or edited in
   * code simply has none (or a stale one, which is then ignored).
   */
  readonly raw?: string;
}

interface SipCommon {
  readonly headers: readonly SipHeader[];
  /** Byte string (or text, see SipEncoding); empty when there is none. */
  readonly body: string;
}

export interface SipRequest extends SipCommon {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
}

export interface SipResponse extends SipCommon {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;
