/**
 * Operator passwords: scrypt from node:crypto, stored as `scrypt$N$r$p$salt$hash` (base64url), and
 * checked in constant time. The cost is in the stored text, so it can be raised later without
 * breaking stored hashes. Hashing runs on libuv's pool (async scrypt), not the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** 2^15 × 8 × 1: about 32 MiB and tens of milliseconds per guess. */
export const DEFAULT_COST: ScryptCost = { N: 32768, r: 8, p: 1 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must cover 128·N·r bytes with room to spare, or node refuses the larger costs.
    scrypt(password, salt, KEY_LENGTH, { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashOperatorPassword(password: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const STORED = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{8,64})\$([A-Za-z0-9_-]{16,128})$/;

/** False for a wrong password and for a stored text that is not a hash of ours (never throws for those). */
export async function verifyOperatorPassword(password: string, stored: string): Promise<boolean> {
  const m = STORED.exec(stored);
  if (m === null) return false;
  const cost = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  // N must be a power of two above 1; refusing odd costs keeps a tampered row from stalling the pool.
  if (cost.N < 2 || (cost.N & (cost.N - 1)) !== 0 || cost.N > 1 << 20 || cost.r < 1 || cost.r > 32 || cost.p < 1 || cost.p > 16) return false;
  const want = Buffer.from(m[5]!, 'base64url');
  const got = await derive(password, Buffer.from(m[4]!, 'base64url'), cost);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A generated password: 24 random bytes, base64url (32 characters). */
export function generateOperatorPassword(): string {
  return randomBytes(24).toString('base64url');
}
