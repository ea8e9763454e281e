/**
 * signals: how a long-running command learns it should stop. SIGINT (Ctrl-C) and SIGTERM (a
 * service manager, or `npm start` stopped by its pid) both mean "stop cleanly".
 *
 * Under `npm start`, Ctrl-C reaches the program twice at once: from the terminal, which signals
 * the whole foreground group, and from npm, which passes its own copy on. A repeat within
 * REPEAT_GRACE_MS is that echo and is ignored; a later one means "stop now" and ends the process
 * with the shell's status for the signal (130, 143), for a stop that hangs.
 */

const REPEAT_GRACE_MS = 2000;
const STATUS: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** Resolves with the signal's name when SIGINT or SIGTERM arrives; install it before starting work. */
export function stopSignal(now: () => number = Date.now): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: number | null = null;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (first === null) {
        first = now();
        resolve(signal);
      } else if (now() - first > REPEAT_GRACE_MS) {
        process.exit(STATUS[signal] ?? 1);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
