/**
 * Enrolment policy: what the server does with a router's `enrol.request` (issue 15, section 1),
 * decided from the enrolment key it presented, the key's device group and the fleet's record of
 * its hardware id. Pure: the cloud looks everything up (and checks the key's secret in constant
 * time) and acts on the decision.
 *
 * The key is judged first, so that somebody without a valid key learns nothing about a hardware
 * id's state (rejected, revoked, known). A revoked device does not come back with a key: an
 * operator revoked it on purpose, and a key is something many routers share.
 */

/** The fleet states and group policies as the cloud's store names them (src/cloud/fleet/store/types.ts). */
export type EnrolFleetState = 'pending' | 'approved' | 'accepted' | 'rejected' | 'revoked';
export type EnrolGroupPolicy = 'auto' | 'approve';
export type ReenrolGroupPolicy = 'replace' | 'hold';

export interface PolicyKey {
  readonly id: string;
  readonly group: string;
  readonly expiresAtMs: number | null;
  readonly revokedAtMs: number | null;
  /** Whether the secret presented matches the stored hash (compared in constant time by the caller). */
  readonly secretMatches: boolean;
}

export interface PolicyGroup {
  readonly id: string;
  readonly enrolPolicy: EnrolGroupPolicy;
  readonly reenrolPolicy: ReenrolGroupPolicy;
}

export interface PolicyRecord {
  readonly state: EnrolFleetState;
  /** The group the device is in now (an operator may have moved it). */
  readonly group: string;
}

export interface EnrolmentFacts {
  /** The key named by the request; null when no key has that id. */
  readonly key: PolicyKey | null;
  /** The key's group; null when it does not exist (any more). */
  readonly group: PolicyGroup | null;
  /** The fleet's record of this hardware id; null for a router never seen. */
  readonly existing: PolicyRecord | null;
  /** The group the existing record is in, when it is another than the key's (null: same, or gone). */
  readonly existingGroup: PolicyGroup | null;
  readonly nowMs: number;
}

export const ENROL_REFUSALS = {
  /** No key with that id, or the secret does not match: the two look alike from outside. */
  keyUnknown: 'E_KEY_UNKNOWN',
  keyExpired: 'E_KEY_EXPIRED',
  keyRevoked: 'E_KEY_REVOKED',
  /** The key's group is gone. */
  groupUnknown: 'E_GROUP_UNKNOWN',
  /** An operator rejected this router. */
  rejected: 'E_REJECTED',
  /** An operator revoked this router; it does not come back with a key. */
  revoked: 'E_REVOKED',
} as const;
export type EnrolRefusalCode = (typeof ENROL_REFUSALS)[keyof typeof ENROL_REFUSALS];

/**
 * refused: for good with this key or device; pending: the router asks again later (`why`: a new
 * router in an approve group, a known router re-enrolling under `hold`, or one already waiting);
 * accept: its login is made now (`how`: a new router of an auto group, one an operator approved,
 * or a known router re-enrolling under `replace`, which keeps its device id and history).
 */
export type EnrolmentDecision =
  | { readonly outcome: 'refused'; readonly code: EnrolRefusalCode; readonly detail: string }
  | { readonly outcome: 'pending'; readonly why: 'approval' | 'reenrol-hold' | 'waiting' }
  | { readonly outcome: 'accept'; readonly how: 'auto' | 'approved' | 'replace' };

const refused = (code: EnrolRefusalCode, detail: string): EnrolmentDecision => ({ outcome: 'refused', code, detail });

export function decideEnrolment(facts: EnrolmentFacts): EnrolmentDecision {
  const { key, group, existing, existingGroup, nowMs } = facts;
  if (key === null || !key.secretMatches) return refused(ENROL_REFUSALS.keyUnknown, 'no such enrolment key, or a wrong secret');
  if (key.revokedAtMs !== null && key.revokedAtMs <= nowMs) return refused(ENROL_REFUSALS.keyRevoked, `enrolment key ${key.id} was revoked`);
  if (key.expiresAtMs !== null && key.expiresAtMs <= nowMs) return refused(ENROL_REFUSALS.keyExpired, `enrolment key ${key.id} has expired`);
  if (group === null || group.id !== key.group) return refused(ENROL_REFUSALS.groupUnknown, `the group ${key.group} of enrolment key ${key.id} does not exist`);
  if (existing === null) return group.enrolPolicy === 'auto' ? { outcome: 'accept', how: 'auto' } : { outcome: 'pending', why: 'approval' };
  switch (existing.state) {
    case 'rejected':
      return refused(ENROL_REFUSALS.rejected, 'an operator rejected this router');
    case 'revoked':
      return refused(ENROL_REFUSALS.revoked, 'this router was revoked; a revoked router cannot enrol again with a key');
    case 'pending':
      return { outcome: 'pending', why: 'waiting' };
    case 'approved':
      return { outcome: 'accept', how: 'approved' };
    case 'accepted': {
      // A hold on either group holds: the operator of the group the router is in now decided
      // how far its identity is to be trusted, and the key's group may be stricter still.
      const hold = group.reenrolPolicy === 'hold' || existingGroup?.reenrolPolicy === 'hold';
      return hold ? { outcome: 'pending', why: 'reenrol-hold' } : { outcome: 'accept', how: 'replace' };
    }
  }
}
