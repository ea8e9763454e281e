/**
 * The router-location index the session manager asks, kept current from the store: every
 * router's latest interface report, read incrementally by the store's change counter (reports
 * may be stored by another server instance), and the locator rebuilt at most every
 * REBUILD_MIN_MS when something changed.
 */
import { buildLocator } from '../../core/control/locate.ts';
import type { Locator, RouterInterfaces } from '../../core/control/locate.ts';
import type { Logger } from '../../core/log.ts';
import type { Store } from '../store/types.ts';

export const REBUILD_MIN_MS = 100;
const PAGE = 1000;

export class RouterIndex {
  private readonly reports = new Map<string, RouterInterfaces>();
  private cursor = 0;
  private locator: Locator = buildLocator([]);
  private dirty = false;
  private builtAtMs = -Infinity;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<Store, 'interfacesChangedSince'>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the reports stored since the last call and rebuilds the locator if any changed. */
  refresh(): Promise<void> {
    this.refreshing ??= this.pull().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async pull(): Promise<void> {
    for (;;) {
      const changes = await this.store.interfacesChangedSince(this.cursor, PAGE);
      this.cursor = changes.cursor;
      for (const d of changes.devices) this.reports.set(d.id, { device: d.id, interfaces: d.interfaces });
      if (changes.devices.length > 0) this.dirty = true;
      if (changes.devices.length < PAGE) break;
    }
    this.rebuildIfDue();
  }

  private rebuildIfDue(): void {
    if (!this.dirty || this.now() - this.builtAtMs < REBUILD_MIN_MS) return;
    const started = this.now();
    this.locator = buildLocator([...this.reports.values()]);
    this.builtAtMs = this.now();
    this.dirty = false;
    for (const problem of this.locator.problems.slice(0, 10)) this.log.warn('interface report entry left out of router location', { reason: problem.message, field: problem.path ?? '' });
    this.log.debug('router index rebuilt', { routers: this.locator.stats.routers, ms: this.builtAtMs - started });
  }

  /**
   * The locator with every report stored so far, by any instance: reads what changed since the
   * last read (one indexed query, usually answering nothing) and rebuilds now if a rebuild was
   * held back, so that a session placed right after a report sees it.
   */
  async current(): Promise<Locator> {
    await this.refresh();
    if (this.dirty) {
      this.builtAtMs = -Infinity;
      this.rebuildIfDue();
    }
    return this.locator;
  }
}
