/**
 * The router-location index the session manager asks, kept current from the store: every
 * router's latest interface report, read incrementally by the store's change counter (reports
 * may be stored by another server instance), and the locator rebuilt at most every
 * REBUILD_MIN_MS when something changed.
 *
 * With routed scopes declared, each rebuild carries the holders of the networks claimed inside
 * them over to the next, so that the first router to report a network keeps it; a router that
 * reports a network another router of its scope holds is refused, logged once when it starts and
 * once when it ends.
 */
import { buildLocator, claimKey } from '../../core/control/locate.ts';
import type { Locator, RouterInterfaces, ScopeClaim } from '../../core/control/locate.ts';
import type { RoutedScope } from '../../core/control/routed-scope.ts';
import type { Logger } from '../../core/log.ts';
import type { Store } from '../store/types.ts';

export const REBUILD_MIN_MS = 100;
const PAGE = 1000;

export class RouterIndex {
  /** In the order of the latest reports: among routers claiming one network, the earlier report holds it. */
  private readonly reports = new Map<string, RouterInterfaces>();
  private cursor = 0;
  private locator: Locator;
  /** Refused claims logged so far, by `claimKey` and device. */
  private refusals = new Map<string, { claim: ScopeClaim; device: string }>();
  private dirty = false;
  private builtAtMs = -Infinity;
  /** A rebuild held back by REBUILD_MIN_MS, due at the window's end. */
  private trailing: ReturnType<typeof setTimeout> | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<Store, 'interfacesChangedSince'>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly scopes: readonly RoutedScope[] = [],
  ) {
    this.locator = buildLocator([], { scopes });
  }

  /** Reads the reports stored since the last call and rebuilds the locator if any changed. */
  refresh(): Promise<void> {
    this.refreshing ??= this.pull().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async pull(): Promise<void> {
    for (;;) {
      const changes = await this.store.interfacesChangedSince(this.cursor, PAGE);
      this.cursor = changes.cursor;
      for (const d of changes.devices) {
        this.reports.delete(d.id);
        this.reports.set(d.id, { device: d.id, interfaces: d.interfaces });
      }
      if (changes.devices.length > 0) this.dirty = true;
      if (changes.devices.length < PAGE) break;
    }
    this.rebuildIfDue();
  }

  private rebuildIfDue(): void {
    if (!this.dirty) return;
    const wait = REBUILD_MIN_MS - (this.now() - this.builtAtMs);
    if (wait > 0) {
      // Rebuilt at the window's end rather than at the next periodic refresh, so that a refused
      // network is logged when its report comes.
      this.trailing ??= setTimeout(() => {
        this.trailing = null;
        this.builtAtMs = -Infinity;
        this.rebuildIfDue();
      }, wait);
      this.trailing.unref?.();
      return;
    }
    const started = this.now();
    this.locator = buildLocator([...this.reports.values()], { scopes: this.scopes, holders: this.locator.holders });
    this.builtAtMs = this.now();
    this.dirty = false;
    for (const problem of this.locator.problems.slice(0, 10)) this.log.warn('interface report entry left out of router location', { reason: problem.message, field: problem.path ?? '' });
    this.logRefusals();
    this.log.debug('router index rebuilt', { routers: this.locator.stats.routers, ms: this.builtAtMs - started });
  }

  /** Logs each refused claim when it first appears and when it is gone. */
  private logRefusals(): void {
    const now = new Map<string, { claim: ScopeClaim; device: string }>();
    for (const claim of this.locator.claims) {
      for (const device of claim.refused) now.set(`${claimKey(claim.scope, claim.prefix)} ${device}`, { claim, device });
    }
    for (const [key, { claim, device }] of now) {
      if (this.refusals.has(key)) continue;
      // Calls into the network get best effort until one of the two stops reporting it.
      this.log.error('routed network refused: another router of the scope reported it first and keeps it', {
        scope: claim.scope, prefix: claim.prefix, device, holder: claim.holder,
      });
    }
    for (const [key, { claim, device }] of this.refusals) {
      if (!now.has(key)) this.log.info('routed network conflict over', { scope: claim.scope, prefix: claim.prefix, device });
    }
    this.refusals = now;
  }

  /**
   * The locator with every report stored so far, by any instance: reads what changed since the
   * last read (one indexed query, usually answering nothing) and rebuilds now if a rebuild was
   * held back, so that a session placed right after a report sees it.
   */
  async current(): Promise<Locator> {
    await this.catchUp();
    return this.locator;
  }

  /** Every network reported inside a routed scope, with its holder and the routers refused it. */
  async claims(): Promise<readonly ScopeClaim[]> {
    await this.catchUp();
    return this.locator.claims;
  }

  /** Drops a held-back rebuild (the server is stopping). */
  close(): void {
    if (this.trailing !== null) clearTimeout(this.trailing);
    this.trailing = null;
  }

  private async catchUp(): Promise<void> {
    await this.refresh();
    if (this.dirty) {
      this.builtAtMs = -Infinity;
      this.rebuildIfDue();
    }
  }
}
