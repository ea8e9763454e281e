import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64urlEncode } from '../text/base64url.ts';
import { utf8Encode } from '../text/utf8.ts';
import { assembleToken, decodeToken, tokenSigningInput, TokenError, verifyToken, type TokenClaims, type TokenExpectation, type VerifyOptions } from './token.ts';

const keys = generateKeyPairSync('ed25519');
const otherKeys = generateKeyPairSync('ed25519');
const NOW_MS = 1_763_901_500_000;
const NOW = NOW_MS / 1000;

const claims: TokenClaims = {
  iss: 'ch-1', aud: 'domain-a', jti: 'ch-1:77:1', iat: NOW, nbf: NOW - 5, exp: NOW + 300,
  call: 'a84b4c76e66710@pc33.example.com', from: 'sip:alice@a.example', to: 'sip:bob@b.example',
  flows: [
    { line: 0, offer: { address: '192.168.1.20', port: 49170 }, answer: { address: '198.18.20.20', port: 3456 }, dscp: 46, kbps: 88 },
    { line: 1, offer: { address: '2001:db8::20', port: 49172 }, answer: { address: '2001:db8:1::9', port: 3458 }, dscp: 34, kbps: 1600 },
  ],
  maxs: 7200,
};

function issue(c: TokenClaims = claims, key = keys.privateKey, kid = 'k1'): string {
  const input = tokenSigningInput(kid, c);
  if (!input.ok) throw new Error(input.error.message);
  return assembleToken(input.value, sign(null, Buffer.from(input.value), key));
}

const expectation: TokenExpectation = {
  audience: 'domain-a', callId: claims.call, from: claims.from, to: claims.to,
  flows: [
    { line: 0, offer: { address: '192.168.1.20', port: 49170 }, answer: { address: '198.18.20.20', port: 3456 }, dscp: 46, kbps: 80 },
  ],
};
const options: VerifyOptions = {
  nowMs: NOW_MS,
  verifierFor: (kid, issuer) => (kid === 'k1' && issuer === 'ch-1' ? (data, signature) => verify(null, data, keys.publicKey, signature) : undefined),
};
const codeOf = (token: string, e: TokenExpectation = expectation, o: VerifyOptions = options) => {
  const r = verifyToken(token, e, o);
  return r.ok ? 'ok' : r.error.code;
};

describe('authorization token', () => {
  it('verifies what the clearinghouse signed, with the claims it signed', () => {
    const r = verifyToken(issue(), expectation, options);
    expect(r).toEqual({ ok: true, value: claims });
    // Three parts, the header naming the algorithm and key.
    const decoded = decodeToken(issue());
    expect(decoded.ok && decoded.value.header).toEqual({ alg: 'EdDSA', typ: 'callqos-qos+jwt', kid: 'k1' });
  });

  it('refuses an altered token: any changed claim, or another key\'s signature', () => {
    const token = issue();
    const [h, , s] = token.split('.');
    const altered = base64urlEncode(utf8Encode(JSON.stringify({ ...claims, flows: claims.flows.map((f) => ({ ...f, kbps: 100000 })) })));
    expect(codeOf(`${h}.${altered}.${s}`)).toBe(TokenError.SIGNATURE);
    expect(codeOf(issue(claims, otherKeys.privateKey))).toBe(TokenError.SIGNATURE);
    // Every single-character change anywhere is refused (by form, key or signature), never accepted.
    for (let i = 0; i < token.length; i += 7) {
      const c = token[i] === 'A' ? 'B' : 'A';
      expect(codeOf(token.slice(0, i) + c + token.slice(i + 1)), `position ${i}`).not.toBe('ok');
    }
  });

  it('refuses an unsigned token by name: alg none, or the signature left off', () => {
    const none = base64urlEncode(utf8Encode(JSON.stringify({ alg: 'none', typ: 'callqos-qos+jwt', kid: 'k1' })));
    const body = issue().split('.')[1];
    expect(codeOf(`${none}.${body}.`)).toBe(TokenError.UNSIGNED);
    const [h, b] = issue().split('.');
    expect(codeOf(`${h}.${b}.`)).toBe(TokenError.UNSIGNED);
  });

  it('refuses an unknown key, an expired token and one not valid yet, allowing the clock skew', () => {
    expect(codeOf(issue(claims, keys.privateKey, 'k9'))).toBe(TokenError.UNKNOWN_KEY);
    expect(codeOf(issue({ ...claims, exp: NOW - 31, nbf: NOW - 400 }))).toBe(TokenError.EXPIRED);
    expect(codeOf(issue({ ...claims, exp: NOW - 29, nbf: NOW - 400 }))).toBe('ok');
    expect(codeOf(issue({ ...claims, nbf: NOW + 31 }))).toBe(TokenError.NOT_YET_VALID);
    expect(codeOf(issue(), expectation, { ...options, nowMs: NOW_MS + 400_000 })).toBe(TokenError.EXPIRED);
  });

  it('binds the domain, the call, the parties and every media flow with its class and rate', () => {
    const token = issue();
    expect(codeOf(token, { ...expectation, audience: 'domain-b' })).toBe(TokenError.AUDIENCE);
    // A call between two domains: the far domain's policy server accepts it as well, nobody else.
    const both = issue({ ...claims, dst: 'domain-b' });
    expect(codeOf(both, { ...expectation, audience: 'domain-b' })).toBe('ok');
    expect(codeOf(both, { ...expectation, audience: 'domain-a' })).toBe('ok');
    expect(codeOf(both, { ...expectation, audience: 'domain-c' })).toBe(TokenError.AUDIENCE);
    expect(codeOf(token, { ...expectation, callId: 'other-call' })).toBe(TokenError.BINDING);
    expect(codeOf(token, { ...expectation, from: 'sip:mallory@a.example' })).toBe(TokenError.BINDING);
    expect(codeOf(token, { ...expectation, to: 'sip:carol@b.example' })).toBe(TokenError.BINDING);
    const flow = expectation.flows[0]!;
    expect(codeOf(token, { ...expectation, flows: [{ ...flow, offer: { address: '192.168.1.21', port: 49170 } }] })).toBe(TokenError.BINDING);
    expect(codeOf(token, { ...expectation, flows: [{ ...flow, answer: { address: '198.18.20.20', port: 3457 } }] })).toBe(TokenError.BINDING);
    expect(codeOf(token, { ...expectation, flows: [{ ...flow, dscp: 34 }] })).toBe(TokenError.BINDING);
    expect(codeOf(token, { ...expectation, flows: [{ ...flow, kbps: 89 }] })).toBe(TokenError.BINDING);
    expect(codeOf(token, { ...expectation, flows: [{ ...flow, line: 2 }] })).toBe(TokenError.BINDING);
    // Parties left out are not compared; a line the token holds but the request does not use is fine.
    expect(codeOf(token, { audience: 'domain-a', callId: claims.call, flows: [] })).toBe('ok');
  });

  it('refuses malformed tokens with a reason, never throwing', () => {
    const cases = ['', 'a.b', 'a.b.c.d', '!!!.e30.AAAA', issue().replace(/\.[^.]*$/, '.AAAA'), 'x'.repeat(5000), `${issue().split('.')[0]}.e30.${'A'.repeat(86)}`];
    for (const bad of cases) {
      const r = verifyToken(bad, expectation, options);
      expect(r.ok, bad.slice(0, 40)).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe(TokenError.MALFORMED);
        expect(r.error.message.length).toBeGreaterThan(5);
      }
    }
    // The issuer refuses to sign claims that do not pass the schema.
    expect(tokenSigningInput('k1', { ...claims, flows: [] }).ok).toBe(false);
    expect(tokenSigningInput('k1', { ...claims, nbf: claims.exp + 1 }).ok).toBe(false);
  });
});
