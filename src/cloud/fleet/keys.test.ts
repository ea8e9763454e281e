import { describe, expect, it } from 'vitest';
import { ENROLMENT_KEY } from '../../core/protocol/messages/enrol.ts';
import { hashSecret, makeEnrolmentKey, secretMatches, splitEnrolmentKey } from './keys.ts';

describe('enrolment keys', () => {
  it('makes keys of the enrolment key pattern, different each time, storing only the secret hash', () => {
    const keys = Array.from({ length: 200 }, () => makeEnrolmentKey());
    for (const k of keys) {
      expect(k.key).toMatch(ENROLMENT_KEY);
      expect(k.key.startsWith(`${k.id}.`)).toBe(true);
      expect(k.secretHash).toMatch(/^[0-9a-f]{64}$/);
      expect(k.key).not.toContain(k.secretHash);
    }
    expect(new Set(keys.map((k) => k.id)).size).toBe(200);
    expect(new Set(keys.map((k) => k.key)).size).toBe(200);
  });

  it('splits a key and checks its secret against the stored hash', () => {
    const made = makeEnrolmentKey();
    const parts = splitEnrolmentKey(made.key)!;
    expect(parts.id).toBe(made.id);
    expect(secretMatches(parts.secret, made.secretHash)).toBe(true);
    expect(secretMatches(`${parts.secret}x`, made.secretHash)).toBe(false);
    expect(secretMatches(parts.secret, hashSecret('other'))).toBe(false);
  });

  it('never matches a malformed stored hash, and splits nothing that is not a key', () => {
    expect(secretMatches('s'.repeat(20), '')).toBe(false);
    expect(secretMatches('', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'.toUpperCase())).toBe(false);
    expect(splitEnrolmentKey('no-dot-here')).toBeNull();
    expect(splitEnrolmentKey('ab.short')).toBeNull();
  });
});
