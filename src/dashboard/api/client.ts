/**
 * The dashboard's one way to the JSON API: the same endpoints an operator scripts against
 * (/api/v1/…), with the session cookie (same origin), the CSRF token on every state change, a
 * deadline on every request, and errors turned into ApiError with the server's code and the
 * field it names, so that a form can show the message beside the field.
 */
import { API_PREFIX, CSRF_HEADER } from '../../core/fleet/api.ts';

export const API_BASE = API_PREFIX;
const DEADLINE_MS = 15_000;

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached or did not answer in time. */
    readonly status: number,
    /** The server's stable code (E_INPUT, E_AUTH, …), or E_NETWORK / E_TIMEOUT / E_RESPONSE from here. */
    readonly code: string,
    message: string,
    /** The input field the error is about (`username` for the server's `body.username`), when the server names one. */
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Reads the server's error body, `{ error: { code, message, path } }` (api.ts); tolerant of a body that is not one. */
export function errorFromBody(status: number, body: unknown): ApiError {
  const outer = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const inner = typeof outer.error === 'object' && outer.error !== null ? (outer.error as Record<string, unknown>) : outer;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const code = text(inner.code) ?? `E_HTTP_${status}`;
  const message = text(inner.message) ?? text(outer.error) ?? `the server answered ${status}`;
  // `body.username` names the form's `username`; `query.limit` stays as it is.
  const path = text(inner.path) ?? text(inner.field);
  const field = path?.startsWith('body.') ? path.slice(5) : path;
  return new ApiError(status, code, message, field);
}

let csrfToken: string | null = null;
/** The token the server gave with the session (login, or GET /session); sent as x-csrf-token on changes. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
/** Called when any request is answered 401: the session ended (expired, logged out elsewhere). */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function request<T>(method: Method, path: string, body?: unknown, { signal }: { signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers[CSRF_HEADER] = csrfToken;
  const deadline = AbortSignal.timeout(DEADLINE_MS);
  const combined = signal ? anySignal([signal, deadline]) : deadline;
  let response: Response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: combined,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (deadline.aborted) throw new ApiError(0, 'E_TIMEOUT', `the server did not answer within ${DEADLINE_MS / 1000} s`);
    throw new ApiError(0, 'E_NETWORK', 'the server could not be reached');
  }
  const type = response.headers.get('content-type') ?? '';
  const parsed: unknown = type.includes('json') ? await response.json().catch(() => undefined) : undefined;
  if (!response.ok) {
    if (response.status === 401) for (const listener of unauthorizedListeners) listener();
    throw errorFromBody(response.status, parsed);
  }
  if (response.status !== 204 && parsed === undefined) throw new ApiError(response.status, 'E_RESPONSE', `the server answered ${path} without JSON`);
  return parsed as T;
}

/** AbortSignal.any is newer than the browsers this targets. */
function anySignal(signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  for (const s of signals) {
    if (s.aborted) controller.abort(s.reason);
    else s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

export const api = {
  get: <T>(path: string, options?: { signal?: AbortSignal }) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
};

/** A query string from filters, empty values left out: `?a=1&b=x` or ''. */
export function queryString(query: Readonly<Record<string, string | number | boolean | undefined | null>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
