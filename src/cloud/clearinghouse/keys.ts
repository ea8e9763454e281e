/**
 * The clearinghouse's Ed25519 keys: a private key (PKCS#8 PEM, mode 0600) that signs tokens, and a
 * public key set (JSON, RFC 8037 OKP keys) that every policy server loads to verify tokens without
 * asking. The key id is derived from the public key, so a rotated key gets a new id and tokens
 * signed by either verify while both are in the set.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { DEVICE_ID, MESSAGE_ID } from '../../core/protocol/fields.ts';

export interface SigningKey {
  readonly kid: string;
  /** The clearinghouse id tokens name as their issuer. */
  readonly issuer: string;
  sign(data: Uint8Array): Uint8Array;
  /** The entry for the public key set. */
  readonly publicJwk: PublicJwk;
}

export interface PublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly iss: string;
}

export type { VerifierFor } from '../../core/clearinghouse/token.ts';
import type { VerifierFor } from '../../core/clearinghouse/token.ts';

function kidOf(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'jwk' }).x as string;
  return `ed25519-${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}

function signingKey(privateKey: KeyObject, issuer: string): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the clearinghouse key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
  if (!DEVICE_ID.test(issuer)) throw new Error(`issuer: not a valid id: ${JSON.stringify(issuer)}`);
  const publicKey = createPublicKey(privateKey);
  const kid = kidOf(publicKey);
  return {
    kid,
    issuer,
    sign: (data) => new Uint8Array(sign(null, data, privateKey)),
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: publicKey.export({ format: 'jwk' }).x as string, kid, iss: issuer },
  };
}

/** A new key pair: the private key written to `privatePath` (0600), its public key set to `publicPath`. */
export function generateSigningKey(issuer: string, privatePath: string, publicPath: string): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(privatePath, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  const key = signingKey(privateKey, issuer);
  writeFileSync(publicPath, `${JSON.stringify({ keys: [key.publicJwk] }, null, 2)}\n`, { flag: 'wx' });
  return key;
}

export function loadSigningKey(privatePath: string, issuer: string): SigningKey {
  return signingKey(createPrivateKey(readFileSync(privatePath)), issuer);
}

/** Reads a public key set file; each entry is checked, and a bad one names the file and the entry. */
export function loadPublicKeys(path: string): VerifierFor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not a JSON key set (${(err as Error).message})`);
  }
  return publicKeySet(parsed, path);
}

export function publicKeySet(parsed: unknown, source = 'key set'): VerifierFor {
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${source}: expected {"keys": [...]} with at least one key`);
  const byKid = new Map<string, { issuer: string; key: KeyObject }>();
  keys.forEach((entry: Partial<PublicJwk>, i) => {
    if (entry?.kty !== 'OKP' || entry.crv !== 'Ed25519' || typeof entry.x !== 'string') throw new Error(`${source}: keys[${i}] is not an Ed25519 public key`);
    if (typeof entry.kid !== 'string' || !MESSAGE_ID.test(entry.kid)) throw new Error(`${source}: keys[${i}].kid is missing or not a valid id`);
    if (typeof entry.iss !== 'string' || !DEVICE_ID.test(entry.iss)) throw new Error(`${source}: keys[${i}].iss is missing or not a valid id`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: entry.x }, format: 'jwk' });
    } catch (err) {
      throw new Error(`${source}: keys[${i}]: ${(err as Error).message}`);
    }
    byKid.set(entry.kid, { issuer: entry.iss, key });
  });
  return (kid, issuer) => {
    const found = byKid.get(kid);
    if (!found || found.issuer !== issuer) return undefined;
    return (data, signature) => verify(null, data, found.key, signature);
  };
}
