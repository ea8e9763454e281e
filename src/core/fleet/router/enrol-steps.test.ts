import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../protocol/envelope.ts';
import { BROKER_PASSWORD, type EnrolRequestBody } from '../../protocol/messages/enrol.ts';
import { DEFAULT_ENROL_TIMINGS, enrolRequestMessage, failureDelayMs, passwordFromBytes, serverDelayMs, stepOnAnswer, stepOnFailure } from './enrol-steps.ts';

const timings = { ...DEFAULT_ENROL_TIMINGS, backoffMinMs: 1000, backoffMaxMs: 8000 };

describe('enrolment steps: what an answer leads to', () => {
  it('accepted: connect with the given device id and username', () => {
    expect(stepOnAnswer({ outcome: 'accepted', deviceId: 'dev-42', username: 'dev-42' }, 0.5)).toEqual({ kind: 'accepted', deviceId: 'dev-42', username: 'dev-42' });
  });

  it('pending: ask again no earlier than retryS, at most a quarter later', () => {
    expect(stepOnAnswer({ outcome: 'pending', retryS: 10 }, 0)).toEqual({ kind: 'retry', afterMs: 10_000, why: 'pending' });
    expect(stepOnAnswer({ outcome: 'pending', retryS: 10 }, 0.999999)).toEqual({ kind: 'retry', afterMs: 12_500, why: 'pending' });
  });

  it('refused with retryS (rate limited): ask again later, keeping the code', () => {
    expect(stepOnAnswer({ outcome: 'refused', code: 'E_RATE_LIMITED', detail: 'slow down', retryS: 60 }, 0)).toEqual({ kind: 'retry', afterMs: 60_000, why: 'refused', code: 'E_RATE_LIMITED', detail: 'slow down' });
  });

  it('refused without retryS: stop for good with the code and detail', () => {
    expect(stepOnAnswer({ outcome: 'refused', code: 'E_KEY_REVOKED', detail: 'key k1 was revoked' }, 0.3)).toEqual({ kind: 'stop', code: 'E_KEY_REVOKED', detail: 'key k1 was revoked' });
  });
});

describe('enrolment steps: backoff after failures', () => {
  it('doubles from the minimum up to the maximum, jittered between half and all', () => {
    expect([1, 2, 3, 4, 5, 50].map((n) => failureDelayMs(n, timings, 0.999999))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect([1, 2, 3, 4, 5].map((n) => failureDelayMs(n, timings, 0))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(stepOnFailure(2, timings, 0, 'E_ENROL_TIMEOUT', 'no answer')).toEqual({ kind: 'retry', afterMs: 1000, why: 'failed', code: 'E_ENROL_TIMEOUT', detail: 'no answer' });
  });

  it('server delays are whole milliseconds', () => {
    expect(Number.isInteger(serverDelayMs(3, 0.123456))).toBe(true);
  });
});

describe('enrolment steps: the request', () => {
  const body: EnrolRequestBody = {
    key: 'k3y1.abcdefghijklmnop_-QR',
    hardwareId: 'mac-9c53220a0b0c',
    password: passwordFromBytes(new Uint8Array(32).map((_, i) => i * 37)),
    hostname: 'OpenWrt',
    hardware: { model: 'D-Link COVR-X1860 A1', boardName: 'dlink,covr-x1860-a1', release: '23.05-SNAPSHOT', target: 'ramips/mt7621', kernel: '5.15.130' },
    versions: { agent: '0.1.0', quickjs: '2024-01-13-1' },
    features: { cake: true, fqCodel: true, ctinfo: false, flowOffload: true, nft: '1.0.8' },
  };

  it('makes passwords the protocol accepts, from every byte value', () => {
    expect(BROKER_PASSWORD.test(body.password)).toBe(true);
    const all = passwordFromBytes(new Uint8Array(256).map((_, i) => i).subarray(200));
    expect(all).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(() => passwordFromBytes(new Uint8Array(8))).toThrow(RangeError);
  });

  it('builds a valid enrol.request whose device is the hardware id and whose ids differ per attempt', () => {
    const first = enrolRequestMessage(body, 1, 1_700_000_000_000);
    const second = enrolRequestMessage(body, 2, 1_700_000_000_000);
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(first.value.device).toBe('mac-9c53220a0b0c');
    expect(first.value.id).not.toBe(second.value.id);
    const text = encodeMessage(first.value);
    expect(text.ok && decodeMessage(text.value)).toEqual({ ok: true, value: first.value });
  });

  it('refuses a body with a bad field, naming it', () => {
    const bad = enrolRequestMessage({ ...body, key: 'nokey' }, 1, 0);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.path).toBe('body.key');
  });
});
