/**
 * Counts rejected input by error code and logs it at most once a second per code, with the count
 * so far: a flood of bad messages (a broken peer, an attack) cannot fill a router's small log
 * ring or a server's disk, and the first of each kind is still seen at once.
 */
import type { LogFields, Logger } from './log.ts';
import { bounded } from './text/bounded.ts';

export const REJECTION_LOG_EVERY_MS = 1000;
/** Longest text field a rejection line carries: what a sender wrote is quoted, never at any length. */
export const REJECTION_FIELD_MAX = 200;

export class Rejections {
  private readonly lastLogged = new Map<string, number>();
  readonly byCode: Record<string, number> = {};
  total = 0;

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly now: () => number,
  ) {}

  note(code: string, fields: LogFields): void {
    this.total += 1;
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    const now = this.now();
    if (now - (this.lastLogged.get(code) ?? -Infinity) < REJECTION_LOG_EVERY_MS) return;
    this.lastLogged.set(code, now);
    const shown: Record<string, LogFields[string]> = {};
    for (const [key, value] of Object.entries(fields)) shown[key] = typeof value === 'string' ? bounded(value, REJECTION_FIELD_MAX) : value;
    this.log.warn(this.message, { code, ...shown, rejected_so_far: this.byCode[code] });
  }
}
