import { describe, expect, it } from 'vitest';
import { decideEnrolment, type EnrolmentFacts, type PolicyGroup, type PolicyKey } from './enrolment-policy.ts';

const NOW = 1_000_000;
const key: PolicyKey = { id: 'k1', group: 'g1', expiresAtMs: null, revokedAtMs: null, secretMatches: true };
const autoReplace: PolicyGroup = { id: 'g1', enrolPolicy: 'auto', reenrolPolicy: 'replace' };

function facts(over: Partial<EnrolmentFacts> = {}): EnrolmentFacts {
  return { key, group: autoReplace, existing: null, existingGroup: null, nowMs: NOW, ...over };
}

describe('decideEnrolment', () => {
  it('refuses an unknown key and a wrong secret alike', () => {
    expect(decideEnrolment(facts({ key: null }))).toMatchObject({ outcome: 'refused', code: 'E_KEY_UNKNOWN' });
    expect(decideEnrolment(facts({ key: { ...key, secretMatches: false } }))).toMatchObject({ outcome: 'refused', code: 'E_KEY_UNKNOWN' });
  });

  it('refuses a revoked key from the moment of revocation, and says which key', () => {
    expect(decideEnrolment(facts({ key: { ...key, revokedAtMs: NOW } }))).toEqual({ outcome: 'refused', code: 'E_KEY_REVOKED', detail: 'enrolment key k1 was revoked' });
    // Revoked later than now (a clock between instances): not yet.
    expect(decideEnrolment(facts({ key: { ...key, revokedAtMs: NOW + 1 } }))).toEqual({ outcome: 'accept', how: 'auto' });
  });

  it('refuses an expired key from its expiry on', () => {
    expect(decideEnrolment(facts({ key: { ...key, expiresAtMs: NOW } }))).toMatchObject({ outcome: 'refused', code: 'E_KEY_EXPIRED' });
    expect(decideEnrolment(facts({ key: { ...key, expiresAtMs: NOW + 1 } }))).toEqual({ outcome: 'accept', how: 'auto' });
  });

  it('names revocation before expiry when a key is both', () => {
    expect(decideEnrolment(facts({ key: { ...key, expiresAtMs: NOW - 5, revokedAtMs: NOW - 1 } }))).toMatchObject({ code: 'E_KEY_REVOKED' });
  });

  it('refuses a key whose group is gone (or is not the group looked up)', () => {
    expect(decideEnrolment(facts({ group: null }))).toMatchObject({ outcome: 'refused', code: 'E_GROUP_UNKNOWN' });
    expect(decideEnrolment(facts({ group: { ...autoReplace, id: 'other' } }))).toMatchObject({ code: 'E_GROUP_UNKNOWN' });
  });

  it('accepts a new router into an auto group and holds it in an approve group', () => {
    expect(decideEnrolment(facts())).toEqual({ outcome: 'accept', how: 'auto' });
    expect(decideEnrolment(facts({ group: { ...autoReplace, enrolPolicy: 'approve' } }))).toEqual({ outcome: 'pending', why: 'approval' });
  });

  it('judges the key before the device, so an invalid key learns nothing of a rejected or revoked router', () => {
    const existing = { state: 'revoked' as const, group: 'g1' };
    expect(decideEnrolment(facts({ key: null, existing }))).toMatchObject({ code: 'E_KEY_UNKNOWN' });
    expect(decideEnrolment(facts({ key: { ...key, expiresAtMs: 1 }, existing: { state: 'rejected', group: 'g1' } }))).toMatchObject({ code: 'E_KEY_EXPIRED' });
  });

  it('refuses a rejected router and a revoked one, which does not come back with a key', () => {
    expect(decideEnrolment(facts({ existing: { state: 'rejected', group: 'g1' } }))).toMatchObject({ outcome: 'refused', code: 'E_REJECTED' });
    const revoked = decideEnrolment(facts({ existing: { state: 'revoked', group: 'g1' } }));
    expect(revoked).toMatchObject({ outcome: 'refused', code: 'E_REVOKED' });
    expect(revoked.outcome === 'refused' && revoked.detail).toContain('cannot enrol again with a key');
  });

  it('keeps a waiting router pending and lets an approved one in', () => {
    expect(decideEnrolment(facts({ existing: { state: 'pending', group: 'g1' } }))).toEqual({ outcome: 'pending', why: 'waiting' });
    expect(decideEnrolment(facts({ existing: { state: 'approved', group: 'g1' } }))).toEqual({ outcome: 'accept', how: 'approved' });
  });

  it('replaces a known router under replace and holds it under hold, in either group', () => {
    const existing = { state: 'accepted' as const, group: 'g1' };
    expect(decideEnrolment(facts({ existing }))).toEqual({ outcome: 'accept', how: 'replace' });
    expect(decideEnrolment(facts({ existing, group: { ...autoReplace, reenrolPolicy: 'hold' } }))).toEqual({ outcome: 'pending', why: 'reenrol-hold' });
    const moved = { state: 'accepted' as const, group: 'g2' };
    expect(decideEnrolment(facts({ existing: moved, existingGroup: { id: 'g2', enrolPolicy: 'auto', reenrolPolicy: 'hold' } }))).toEqual({ outcome: 'pending', why: 'reenrol-hold' });
    expect(decideEnrolment(facts({ existing: moved, existingGroup: { id: 'g2', enrolPolicy: 'approve', reenrolPolicy: 'replace' } }))).toEqual({ outcome: 'accept', how: 'replace' });
  });
});
