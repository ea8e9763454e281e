/** Enrolment keys as the page shows them (pure). */
import type { EnrolmentKeyView } from '../../../core/fleet/api.ts';

export function keyState(key: EnrolmentKeyView, nowMs: number): 'revoked' | 'expired' | 'active' {
  if (key.revokedAtMs !== null) return 'revoked';
  if (key.expiresAtMs !== null && key.expiresAtMs <= nowMs) return 'expired';
  return 'active';
}

/** This page's host is the broker's too in the embedded setup; a loopback name means nothing to a router. */
export function brokerGuess(hostname: string): string {
  return /^(localhost|127\.|\[?::1\]?$)/.test(hostname) ? '<broker address>' : hostname;
}
