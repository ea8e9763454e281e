/**
 * Work that nobody awaits: an event handler's reaction, a child's exit, a reply sent from a
 * callback. Its failure goes to `onError` (the caller logs it), never to an unhandled rejection,
 * which Node turns into a crash and QuickJS into an error nobody sees.
 */
export function detach(work: Promise<unknown>, onError: (error: unknown) => void): void {
  work.then(undefined, onError);
}
