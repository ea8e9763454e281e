/**
 * A line's or gate's reason (`E_CODE: detail`, as src/cloud/server/reasons.ts writes it) in
 * words an operator reads without the code table; the code and detail stay after the words.
 */
const WORDS: Readonly<Record<string, string>> = {
  E_NO_STREAM: 'the stream was removed or is inactive: nothing to carry',
  E_NO_RATE: 'neither the codec nor the SDP bandwidth gives the stream\'s rate',
  E_RATE: 'the stream needs more than one gate admits',
  E_NO_ROUTER: 'no router of this domain holds either end',
  E_ROUTER_UNKNOWN: 'a router the call needs has never connected',
  E_ROUTER_OFFLINE: 'a router the call needs is offline',
  E_BUDGET: 'a router\'s EF budget had no room for the call',
  E_NOT_AUTHORIZED: 'the clearinghouse refused the call, or its token was refused',
  E_ROUTER_REFUSED: 'the router could not install the gate',
  E_DEADLINE: 'the router did not confirm the install in time',
  E_GATE_REMOVED: 'the router removed the gate by itself',
  E_PEER: 'the other domain\'s server did not make its end active',
  E_REVOKED: 'an operator revoked a router the call used',
  E_INTERNAL: 'the server failed to build a message (a bug; see its log)',
};

/** `E_BUDGET: router rtA: …` -> `a router's EF budget had no room for the call (E_BUDGET: router rtA: …)`; unknown codes as given. */
export function reasonInWords(reason: string | null): string | null {
  if (reason === null || reason === '') return null;
  const code = /^(E_[A-Z_]+)\b/.exec(reason)?.[1];
  const words = code === undefined ? undefined : WORDS[code];
  return words === undefined ? reason : `${words} (${reason})`;
}
