/**
 * Result values for code that must not throw across a boundary (decoders, validators, host calls).
 * Errors carry a stable `code` so that callers match on codes, never on classes: the router bundle
 * and the cloud may each hold their own copy of this module.
 */
export interface Failure<E = CoreError> {
  readonly ok: false;
  readonly error: E;
}
export interface Success<T> {
  readonly ok: true;
  readonly value: T;
}
export type Result<T, E = CoreError> = Success<T> | Failure<E>;

/** A plain error value: a stable machine code, a human message, and where it applies. */
export interface CoreError {
  readonly code: string;
  readonly message: string;
  /** Path of the offending field, e.g. `body.gates[0].lan.port`; empty for the whole input. */
  readonly path?: string;
}

export function ok<T>(value: T): Success<T> {
  return { ok: true, value };
}

export function fail<E = CoreError>(error: E): Failure<E> {
  return { ok: false, error };
}

export function coreError(code: string, message: string, path?: string): CoreError {
  return path === undefined ? { code, message } : { code, message, path };
}

/** True for any object shaped like a CoreError with the given code, whichever copy made it. */
export function hasCode(value: unknown, code: string): boolean {
  return typeof value === 'object' && value !== null && (value as { code?: unknown }).code === code;
}
