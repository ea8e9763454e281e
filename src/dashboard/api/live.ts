/**
 * Live updates: one EventSource on /api/v1/events for the whole page, shared by every component
 * that listens, opened with the first listener and closed with the last. The browser reconnects
 * by itself after a drop; listeners are told whether the stream is up so a page can say so.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { API_BASE } from './client.ts';

export type LiveState = 'connecting' | 'live' | 'down';

export interface LiveEvent {
  /** The SSE event name (`overview`, `device`, `session`, …; `message` when the server names none). */
  readonly type: string;
  readonly data: unknown;
}

type Listener = (event: LiveEvent) => void;
type StateListener = (state: LiveState) => void;

const listeners = new Map<Listener, ReadonlySet<string> | null>();
const stateListeners = new Set<StateListener>();
let source: EventSource | null = null;
let state: LiveState = 'connecting';
/** The event names the open EventSource has handlers for (EventSource has no catch-all). */
const subscribed = new Set<string>();

function setState(next: LiveState): void {
  state = next;
  for (const listener of stateListeners) listener(next);
}

function dispatch(type: string, raw: string): void {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    data = raw;
  }
  for (const [listener, types] of listeners) if (types === null || types.has(type)) listener({ type, data });
}

function subscribe(type: string): void {
  if (source === null || subscribed.has(type)) return;
  subscribed.add(type);
  source.addEventListener(type, (event) => dispatch(type, (event as MessageEvent<string>).data));
}

function open(): void {
  if (source !== null) return;
  setState('connecting');
  source = new EventSource(`${API_BASE}/events`, { withCredentials: true });
  source.onopen = () => setState('live');
  // readyState CONNECTING after an error: the browser retries by itself; CLOSED: it gave up (401).
  source.onerror = () => setState(source?.readyState === EventSource.CLOSED ? 'down' : 'connecting');
  source.onmessage = (event: MessageEvent<string>) => dispatch('message', event.data);
  subscribed.clear();
  for (const types of listeners.values()) for (const type of types ?? []) subscribe(type);
}

function closeIfUnused(): void {
  if (listeners.size > 0 || stateListeners.size > 0 || source === null) return;
  source.close();
  source = null;
  subscribed.clear();
}

/**
 * Calls `onEvent` for each live event of the given types (all unnamed `message` events too when
 * `types` is empty). Returns the stream's state. The handler may change between renders.
 */
export function useLiveEvents(types: readonly string[], onEvent: (event: LiveEvent) => void): LiveState {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const [current, setCurrent] = useState<LiveState>(state);
  const key = types.join(',');
  useEffect(() => {
    const listener: Listener = (event) => handler.current(event);
    const wanted = types.length === 0 ? null : new Set(types);
    listeners.set(listener, wanted);
    stateListeners.add(setCurrent);
    open();
    for (const type of types) subscribe(type);
    setCurrent(state);
    return () => {
      listeners.delete(listener);
      stateListeners.delete(setCurrent);
      closeIfUnused();
    };
  }, [key]);
  return current;
}

/** Closes the stream (logout): the next listener opens a new one with the new session's cookie. */
export function closeLiveEvents(): void {
  source?.close();
  source = null;
  subscribed.clear();
}
