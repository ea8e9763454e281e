/**
 * SIP (RFC 3261) without I/O, for the cloud proxy and anything else that reads SIP:
 *   message.ts  parse one message; types, limits, header lookups and serialisation re-exported
 *   serialize.ts  CRLF text with Content-Length from the body
 *   stream.ts   TCP/TLS framing with CRLF keep-alives, as a raw framer or a parsing one
 *   headers.ts  Via, name-addr, Contact, CSeq, Max-Forwards, Content-Length, Expires
 *   uri.ts      SIP/SIPS URIs, host:port, parameters
 */
export * from './message.ts';
export * from './headers.ts';
export * from './stream.ts';
