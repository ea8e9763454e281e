/**
 * signals: how a long-running command learns it should stop. SIGINT (Ctrl-C) and SIGTERM (a
 * service manager, or `npm start` stopped by its pid) both mean "stop cleanly".
 */

/** Resolves with the signal's name when SIGINT or SIGTERM arrives; install it before starting work. */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}
