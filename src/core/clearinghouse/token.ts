/**
 * token: the clearinghouse's authorization token (seed 000 claim 15; the OSP token of ETSI TS
 * 101 321 carried as RFC 3313's P-Media-Authorization). It is a JSON Web Signature in compact form
 * (RFC 7515) signed with Ed25519 (`alg: EdDSA`, RFC 8037):
 *
 *   base64url(header) . base64url(claims) . base64url(signature over the first two parts)
 *
 * The claims bind the call id, the parties, the domain it was issued to and every media flow with
 * its class and rate, and carry a validity window and a unique transaction id (`jti`). A policy
 * server verifies a token with the clearinghouse's public key alone, without a round trip; the
 * replay check (a `jti` already used by another call, or after its call ended) needs the
 * verifier's memory and lives beside its store.
 *
 * Signing and signature checking are given by the host (Ed25519 is not pure-JS cheap, and the
 * core imports no runtime): this module only builds, parses and checks.
 */
import { coreError, fail, ok, type CoreError, type Result } from '../result.ts';
import { base64urlDecode, base64urlEncode } from '../text/base64url.ts';
import { utf8Decode, utf8Encode } from '../text/utf8.ts';
import { deviceId, messageId, sessionRef, text } from '../protocol/fields.ts';
import { requestedFlow } from '../protocol/messages/ch.ts';
import { Code, arr, int, keyPath, literal, obj, optional, refine, validate, type Infer } from '../protocol/schema.ts';
import { parseStrictJson } from '../protocol/strict-json.ts';

export const TOKEN_ALG = 'EdDSA';
export const TOKEN_TYP = 'callqos-qos+jwt';
/** Longest token accepted: it travels in a SIP header and a session request. */
export const MAX_TOKEN_LENGTH = 4096;
const ED25519_SIGNATURE_BYTES = 64;

/** Stable codes for every way a token is refused. */
export const TokenError = {
  MALFORMED: 'E_TOKEN_MALFORMED',
  UNSIGNED: 'E_TOKEN_UNSIGNED',
  UNKNOWN_KEY: 'E_TOKEN_UNKNOWN_KEY',
  SIGNATURE: 'E_TOKEN_SIGNATURE',
  EXPIRED: 'E_TOKEN_EXPIRED',
  NOT_YET_VALID: 'E_TOKEN_NOT_YET_VALID',
  AUDIENCE: 'E_TOKEN_AUDIENCE',
  BINDING: 'E_TOKEN_BINDING',
  REPLAYED: 'E_TOKEN_REPLAYED',
} as const;

/** One authorized media flow: an SDP media line's two ends, its class and its rate ceiling. */
const flow = requestedFlow;

export const tokenHeader = obj({ alg: literal(TOKEN_ALG), typ: literal(TOKEN_TYP), kid: messageId });

/** Times are JWT NumericDate: seconds since the epoch. */
const seconds = int({ min: 0, max: 253402300799 });

export const tokenClaims = refine(
  obj({
    /** The clearinghouse that issued it. */
    iss: deviceId,
    /** The policy domain it was issued to (the requesting policy server's domain). */
    aud: deviceId,
    /** The far end's domain on a call between two domains: its policy server accepts the token too. */
    dst: optional(deviceId),
    /** The OSP transaction id: unique per authorization, the key of the usage that follows. */
    jti: messageId,
    iat: seconds,
    nbf: seconds,
    exp: seconds,
    call: sessionRef,
    from: text(256, 1),
    to: text(256, 1),
    flows: arr(flow, { min: 1, max: 16, unique: { key: (f) => String(f.line), field: 'line' } }),
    /** The time limit: the longest the call may last, in seconds from its start. */
    maxs: int({ min: 1, max: 7 * 86400 }),
  }),
  (c, path) => (c.nbf <= c.exp ? undefined : { code: Code.RANGE, message: 'nbf is after exp', path: keyPath(path, 'nbf') }),
);

export type TokenHeader = Infer<typeof tokenHeader>;
export type TokenClaims = Infer<typeof tokenClaims>;
export type TokenFlow = TokenClaims['flows'][number];

export interface DecodedToken {
  readonly header: TokenHeader;
  readonly claims: TokenClaims;
  /** The bytes the signature covers: the first two parts as ASCII. */
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

const refuse = (code: string, message: string): Result<never> => fail(coreError(code, message));

function encodeJson(value: unknown): string {
  return base64urlEncode(utf8Encode(JSON.stringify(value)));
}

/** What the issuer signs: header and claims, encoded; append the signature with `assembleToken`. */
export function tokenSigningInput(kid: string, claims: TokenClaims): Result<string> {
  const header: TokenHeader = { alg: TOKEN_ALG, typ: TOKEN_TYP, kid };
  const checked = validate(tokenHeader, header);
  if (!checked.ok) return checked;
  const valid = validate(tokenClaims, claims);
  if (!valid.ok) return valid;
  return ok(`${encodeJson(header)}.${encodeJson(valid.value)}`);
}

export function assembleToken(signingInput: string, signature: Uint8Array): string {
  return `${signingInput}.${base64urlEncode(signature)}`;
}

function decodePart<T>(part: string, what: string, schema: Parameters<typeof validate<T>>[0]): Result<T> {
  const bytes = base64urlDecode(part);
  if (!bytes.ok) return refuse(TokenError.MALFORMED, `token ${what}: ${bytes.error.message}`);
  const parsed = parseStrictJson(utf8Decode(bytes.value));
  if (!parsed.ok) return refuse(TokenError.MALFORMED, `token ${what} is not JSON: ${parsed.error.message}`);
  const valid = validate(schema, parsed.value);
  if (!valid.ok) return refuse(TokenError.MALFORMED, `token ${what}: ${valid.error.path ? `${valid.error.path}: ` : ''}${valid.error.message}`);
  return valid;
}

/** Splits and checks the form of a token; says nothing yet about its signature, times or binding. */
export function decodeToken(token: string): Result<DecodedToken> {
  if (typeof token !== 'string' || token.length === 0) return refuse(TokenError.MALFORMED, 'no token');
  if (token.length > MAX_TOKEN_LENGTH) return refuse(TokenError.MALFORMED, `token is ${token.length} characters, more than ${MAX_TOKEN_LENGTH}`);
  const parts = token.split('.');
  if (parts.length !== 3) return refuse(TokenError.MALFORMED, `a token has three dot-separated parts, this one ${parts.length}`);
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  // An unsigned token (alg "none", or the signature left off) is refused by name, not as a bad shape.
  const rawHeader = base64urlDecode(headerPart);
  if (rawHeader.ok) {
    const parsed = parseStrictJson(utf8Decode(rawHeader.value));
    const alg = parsed.ok && typeof parsed.value === 'object' && parsed.value !== null ? (parsed.value as { alg?: unknown }).alg : undefined;
    if (alg === 'none' || signaturePart === '') return refuse(TokenError.UNSIGNED, 'the token is not signed');
  }
  const header = decodePart(headerPart, 'header', tokenHeader);
  if (!header.ok) return header;
  const claims = decodePart(claimsPart, 'claims', tokenClaims);
  if (!claims.ok) return claims;
  const signature = base64urlDecode(signaturePart);
  if (!signature.ok) return refuse(TokenError.MALFORMED, `token signature: ${signature.error.message}`);
  if (signature.value.length !== ED25519_SIGNATURE_BYTES) {
    return refuse(TokenError.MALFORMED, `an Ed25519 signature is ${ED25519_SIGNATURE_BYTES} bytes, this one ${signature.value.length}`);
  }
  const signingInput = utf8Encode(`${headerPart}.${claimsPart}`);
  return ok({ header: header.value, claims: claims.value, signingInput, signature: signature.value });
}

/** What a session request asks for, to hold a token's binding against. */
export interface TokenExpectation {
  /** The verifier's own domain: the token must have been issued to it. */
  readonly audience: string;
  readonly callId: string;
  /** The parties as call control named them; a party left out is not compared. */
  readonly from?: string;
  readonly to?: string;
  /** Every media line that is to get QoS: each must be in the token, same ends, same class, rate within. */
  readonly flows: readonly { line: number; offer: { address: string; port: number }; answer: { address: string; port: number }; dscp: number; kbps: number }[];
}

/** The signature check for a key id and issuer; undefined when the key is unknown. */
export type VerifierFor = (kid: string, issuer: string) => ((data: Uint8Array, signature: Uint8Array) => boolean) | undefined;

export interface VerifyOptions {
  /** Milliseconds since the epoch. */
  readonly nowMs: number;
  /** Clock difference tolerated between clearinghouse and verifier, in seconds (default 30). */
  readonly skewS?: number;
  readonly verifierFor: VerifierFor;
}

const sameEnd = (a: { address: string; port: number }, b: { address: string; port: number }) => a.address === b.address && a.port === b.port;

/** The first way the claims do not cover what is asked, or undefined when they do. */
export function bindingMismatch(claims: TokenClaims, expected: TokenExpectation): CoreError | undefined {
  const wrong = (message: string) => coreError(TokenError.BINDING, message);
  if (claims.aud !== expected.audience && claims.dst !== expected.audience) {
    return coreError(TokenError.AUDIENCE, `token issued to ${claims.dst === undefined ? claims.aud : `${claims.aud} and ${claims.dst}`}, not to ${expected.audience}`);
  }
  if (claims.call !== expected.callId) return wrong(`token is for call ${claims.call}, not ${expected.callId}`);
  if (expected.from !== undefined && claims.from !== expected.from) return wrong(`token is for caller ${claims.from}, not ${expected.from}`);
  if (expected.to !== undefined && claims.to !== expected.to) return wrong(`token is for callee ${claims.to}, not ${expected.to}`);
  const byLine = new Map(claims.flows.map((f) => [f.line, f]));
  for (const want of expected.flows) {
    const have = byLine.get(want.line);
    if (!have) return wrong(`media line ${want.line} is not in the token`);
    if (!sameEnd(have.offer, want.offer) || !sameEnd(have.answer, want.answer)) {
      return wrong(`media line ${want.line} runs between other addresses than the token's`);
    }
    if (have.dscp !== want.dscp) return wrong(`media line ${want.line} asks for DSCP ${want.dscp}, the token allows ${have.dscp}`);
    if (want.kbps > have.kbps) return wrong(`media line ${want.line} asks for ${want.kbps} kbit/s, the token allows ${have.kbps}`);
  }
  return undefined;
}

/**
 * Decodes a token and checks it in the order that tells the most: form, key, signature, validity
 * window, then binding. Returns the claims; the caller still checks replay.
 */
export function verifyToken(token: string, expected: TokenExpectation, options: VerifyOptions): Result<TokenClaims> {
  const decoded = decodeToken(token);
  if (!decoded.ok) return decoded;
  const { header, claims, signingInput, signature } = decoded.value;
  const verify = options.verifierFor(header.kid, claims.iss);
  if (!verify) return refuse(TokenError.UNKNOWN_KEY, `no key ${header.kid} known for issuer ${claims.iss}`);
  if (!verify(signingInput, signature)) return refuse(TokenError.SIGNATURE, 'the token signature does not verify (altered, or signed by another key)');
  const now = Math.floor(options.nowMs / 1000);
  const skew = options.skewS ?? 30;
  if (now > claims.exp + skew) return refuse(TokenError.EXPIRED, `token expired ${now - claims.exp} s ago`);
  if (now + skew < claims.nbf) return refuse(TokenError.NOT_YET_VALID, `token is valid only in ${claims.nbf - now} s`);
  const mismatch = bindingMismatch(claims, expected);
  if (mismatch) return fail(mismatch);
  return ok(claims);
}
