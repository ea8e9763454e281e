/**
 * The router's enrolment as decisions without I/O: what to do after an answer, after a failure
 * (no answer in time, a publish that failed, a client that exited), how long to wait, and the
 * request itself. src/agent/fleet/enrolment.ts does the I/O and follows these steps.
 */
import { makeMessage, type EnrolRequestMessage } from '../../protocol/envelope.ts';
import type { EnrolAnswerBody, EnrolRequestBody } from '../../protocol/messages/enrol.ts';
import type { Result } from '../../result.ts';

export interface EnrolTimings {
  /** After the subscriber starts, before the first request: its subscription must be in place, or the answer is lost. */
  readonly settleMs: number;
  /** How long a request waits for its answer before it counts as failed. */
  readonly answerTimeoutMs: number;
  /** Failure backoff: doubles from min to max with each failure in a row. */
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

export const DEFAULT_ENROL_TIMINGS: EnrolTimings = { settleMs: 2_000, answerTimeoutMs: 20_000, backoffMinMs: 5_000, backoffMaxMs: 300_000 };

export type EnrolStep =
  /** The login is ready: save it and connect with it. */
  | { readonly kind: 'accepted'; readonly deviceId: string; readonly username: string }
  /** Ask again after `afterMs`. */
  | { readonly kind: 'retry'; readonly afterMs: number; readonly why: 'pending' | 'refused' | 'failed'; readonly code?: string; readonly detail?: string }
  /** Refused for good: never ask again with this key (until the config changes and the agent restarts). */
  | { readonly kind: 'stop'; readonly code: string; readonly detail: string };

/**
 * Not earlier than the server asked, and up to a quarter later, so that routers the server put
 * off together do not come back together. `random` is in [0, 1).
 */
export function serverDelayMs(retryS: number, random: number): number {
  return Math.round(retryS * 1000 * (1 + random / 4));
}

/** The n-th failure in a row (n >= 1): min * 2^(n-1), at most max, then between half and all of it. */
export function failureDelayMs(failures: number, timings: EnrolTimings, random: number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const full = Math.min(timings.backoffMaxMs, timings.backoffMinMs * 2 ** exponent);
  return Math.round(full * (0.5 + random / 2));
}

export function stepOnAnswer(answer: EnrolAnswerBody, random: number): EnrolStep {
  switch (answer.outcome) {
    case 'accepted':
      return { kind: 'accepted', deviceId: answer.deviceId, username: answer.username };
    case 'pending':
      return { kind: 'retry', afterMs: serverDelayMs(answer.retryS, random), why: 'pending' };
    case 'refused':
      return answer.retryS === undefined
        ? { kind: 'stop', code: answer.code, detail: answer.detail }
        : { kind: 'retry', afterMs: serverDelayMs(answer.retryS, random), why: 'refused', code: answer.code, detail: answer.detail };
  }
}

export function stepOnFailure(failures: number, timings: EnrolTimings, random: number, code: string, detail: string): EnrolStep {
  return { kind: 'retry', afterMs: failureDelayMs(failures, timings, random), why: 'failed', code, detail };
}

/** The characters of a chosen broker password (BROKER_PASSWORD): 64 of them, so a byte maps without bias. */
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
export const PASSWORD_LENGTH = 32;

/** A password from random bytes, one character per byte (6 bits each: 192 bits for 32 bytes). */
export function passwordFromBytes(bytes: Uint8Array): string {
  if (bytes.length < PASSWORD_LENGTH) throw new RangeError(`a password needs ${PASSWORD_LENGTH} random bytes, got ${bytes.length}`);
  let text = '';
  for (let i = 0; i < PASSWORD_LENGTH; i++) text += PASSWORD_ALPHABET[bytes[i]! & 0x3f];
  return text;
}

/** The request message: envelope `device` is the hardware id; ids are unique per attempt. */
export function enrolRequestMessage(body: EnrolRequestBody, attempt: number, wallMs: number): Result<EnrolRequestMessage> {
  const ts = Math.round(wallMs);
  return makeMessage('enrol.request', { id: `enrol.${ts.toString(36)}.${attempt}`, device: body.hardwareId, session: 0, seq: attempt, ts }, body);
}
