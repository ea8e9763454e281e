/** Small hooks every page uses: loading a resource from the API, and running work nobody awaits. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api/client.ts';

/** Work started from an event handler: its failure is reported, never an unhandled rejection. */
export function detached(work: Promise<unknown>, onError: (error: unknown) => void = reportError): void {
  work.then(undefined, onError);
}

function reportError(error: unknown): void {
  console.error('callqos dashboard:', error);
}

export interface Resource<T> {
  readonly data: T | null;
  readonly error: ApiError | null;
  readonly loading: boolean;
  /** Loads again (after a change, or on a live event); the shown data stays until the new answer. */
  readonly reload: () => void;
}

/** Loads from the API when `key` changes; a newer load cancels the older one. */
export function useResource<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Resource<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    detached(
      loadRef.current(controller.signal).then(
        (data) => {
          if (!controller.signal.aborted) setState({ data, error: null, loading: false });
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          const error = err instanceof ApiError ? err : new ApiError(0, 'E_CLIENT', err instanceof Error ? err.message : String(err));
          setState((s) => ({ data: s.data, error, loading: false }));
        },
      ),
    );
    return () => controller.abort();
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

/** A value that changes at most once per `ms` (search boxes: one request per pause in typing). */
export function useDebounced<T>(value: T, ms: number): T {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setCurrent(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return current;
}

export interface Action<A extends unknown[]> {
  readonly run: (...args: A) => void;
  readonly busy: boolean;
  readonly error: ApiError | null;
  readonly clearError: () => void;
}

/** A change sent to the server from a button or form: busy while it runs, its error kept for the form. */
export function useAction<A extends unknown[], T>(work: (...args: A) => Promise<T>, onDone?: (result: T) => void): Action<A> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const workRef = useRef(work);
  workRef.current = work;
  const doneRef = useRef(onDone);
  doneRef.current = onDone;
  const run = useCallback((...args: A) => {
    setBusy(true);
    setError(null);
    detached(
      workRef.current(...args).then(
        (result) => {
          setBusy(false);
          doneRef.current?.(result);
        },
        (err: unknown) => {
          setBusy(false);
          setError(err instanceof ApiError ? err : new ApiError(0, 'E_CLIENT', err instanceof Error ? err.message : String(err)));
        },
      ),
    );
  }, []);
  const clearError = useCallback(() => setError(null), []);
  return { run, busy, error, clearError };
}
