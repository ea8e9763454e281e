import { describe, expect, it } from 'vitest';
import type { EnrolmentKeyView } from '../../../core/fleet/api.ts';
import { brokerGuess, keyState } from './keys.ts';

const key = (expiresAtMs: number | null, revokedAtMs: number | null): EnrolmentKeyView => ({
  id: 'abcd1234', group: 'lab', label: '', createdAtMs: 0, createdBy: 'cli', expiresAtMs, revokedAtMs, uses: 0, lastUsedAtMs: null,
});

describe('enrolment keys on the page', () => {
  it('is revoked before expired, expired at its time, active otherwise', () => {
    expect(keyState(key(null, null), 1000)).toBe('active');
    expect(keyState(key(2000, null), 1000)).toBe('active');
    expect(keyState(key(1000, null), 1000)).toBe('expired');
    expect(keyState(key(500, 800), 1000)).toBe('revoked');
  });

  it('offers the page host as the broker, but never a loopback name', () => {
    expect(brokerGuess('fleet.example.net')).toBe('fleet.example.net');
    expect(brokerGuess('192.0.2.10')).toBe('192.0.2.10');
    expect(brokerGuess('localhost')).toBe('<broker address>');
    expect(brokerGuess('127.0.0.1')).toBe('<broker address>');
    expect(brokerGuess('[::1]')).toBe('<broker address>');
  });
});
