/**
 * service: the life of a long-running command (the QoS server, the SIP proxy, the
 * clearinghouse). It starts, says so, runs until SIGINT or SIGTERM, and stops; a failure to start
 * or to stop is one error line in the log's format and a failing exit status, like every other
 * line the program writes.
 */
import type { Logger } from '../../core/log.ts';
import { stopSignal } from './signals.ts';

/** What a started service gives back: how to stop it. */
export type StopService = () => Promise<void>;

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Starts the service, runs it until a stop signal, stops it; the exit status. */
export async function runService(log: Logger, start: () => Promise<StopService>): Promise<number> {
  // Listening before starting: a signal during a slow start is kept, not fatal.
  const stopping = stopSignal();
  let stop: StopService;
  try {
    stop = await start();
  } catch (error) {
    log.error('cannot start', { error: reason(error) });
    return 1;
  }
  const signal = await stopping;
  log.info('stopping', { signal });
  try {
    await stop();
  } catch (error) {
    log.error('stopping failed', { error: reason(error) });
    return 1;
  }
  log.info('stopped', { signal });
  return 0;
}
