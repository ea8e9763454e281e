/**
 * Token buckets for requests from sources nobody has authenticated yet (enrolment): one bucket per
 * source key and one for everybody, so that one router retrying in a loop is slowed alone, and a
 * flood from many made-up sources is slowed as a whole before it reaches the store or the broker.
 *
 * Pure: the caller passes the time. Memory is bounded: past `maxKeys` sources the one used least
 * recently is forgotten (it comes back with a full bucket, which the global bucket still bounds).
 */

export interface BucketSpec {
  /** Most tokens a bucket holds: the burst allowed. */
  readonly capacity: number;
  /** Tokens added per second. */
  readonly refillPerS: number;
}

export interface RateLimitSpec {
  readonly perKey: BucketSpec;
  readonly global: BucketSpec;
  /** Most source keys remembered. */
  readonly maxKeys: number;
}

export type RateVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly scope: 'key' | 'global'; readonly retryS: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

function checkSpec(spec: BucketSpec, name: string): void {
  if (!(spec.capacity >= 1) || !Number.isFinite(spec.capacity)) throw new RangeError(`${name}.capacity must be a finite number >= 1`);
  if (!(spec.refillPerS > 0) || !Number.isFinite(spec.refillPerS)) throw new RangeError(`${name}.refillPerS must be a finite number > 0`);
}

function refill(bucket: Bucket, spec: BucketSpec, nowMs: number): void {
  // A clock that went back adds nothing (and takes nothing away).
  const elapsedS = Math.max(0, nowMs - bucket.atMs) / 1000;
  bucket.tokens = Math.min(spec.capacity, bucket.tokens + elapsedS * spec.refillPerS);
  bucket.atMs = Math.max(bucket.atMs, nowMs);
}

/** Whole seconds until the bucket holds one token again (at least 1). */
function secondsToToken(bucket: Bucket, spec: BucketSpec): number {
  return Math.max(1, Math.ceil((1 - bucket.tokens) / spec.refillPerS));
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly global: Bucket;

  constructor(
    private readonly spec: RateLimitSpec,
    startMs: number,
  ) {
    checkSpec(spec.perKey, 'perKey');
    checkSpec(spec.global, 'global');
    if (!Number.isInteger(spec.maxKeys) || spec.maxKeys < 1) throw new RangeError('maxKeys must be a whole number >= 1');
    this.global = { tokens: spec.global.capacity, atMs: startMs };
  }

  /** Takes one token from `key`'s bucket and one from the global one, or neither when either is empty. */
  take(key: string, nowMs: number): RateVerdict {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.spec.perKey.capacity, atMs: nowMs };
    } else {
      // Moved to the newest end: the map's order is the order of last use.
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.spec.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);

    refill(bucket, this.spec.perKey, nowMs);
    refill(this.global, this.spec.global, nowMs);
    if (bucket.tokens < 1) return { allowed: false, scope: 'key', retryS: secondsToToken(bucket, this.spec.perKey) };
    if (this.global.tokens < 1) return { allowed: false, scope: 'global', retryS: secondsToToken(this.global, this.spec.global) };
    bucket.tokens -= 1;
    this.global.tokens -= 1;
    return { allowed: true };
  }

  /** Source keys remembered now. */
  get size(): number {
    return this.buckets.size;
  }
}

/**
 * Says yes once per `windowMs` per key, and at most `maxPerWindow` times per window over all keys,
 * counting what it held back: for log lines about refused sources, so that a flood from many
 * sources writes a few lines a minute and says how many it left out.
 */
export class OncePerWindow {
  private readonly last = new Map<string, number>();
  private windowStartMs = -Infinity;
  private shownInWindow = 0;
  private held = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxPerWindow: number,
    private readonly maxKeys: number,
  ) {}

  /** `show`: log this one, and `held` lines were left out since the last shown. */
  note(key: string, nowMs: number): { readonly show: boolean; readonly held: number } {
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.shownInWindow = 0;
    }
    const lastMs = this.last.get(key);
    if ((lastMs !== undefined && nowMs - lastMs < this.windowMs) || this.shownInWindow >= this.maxPerWindow) {
      this.held += 1;
      return { show: false, held: this.held };
    }
    this.last.delete(key);
    this.last.set(key, nowMs);
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    this.shownInWindow += 1;
    const held = this.held;
    this.held = 0;
    return { show: true, held };
  }
}
