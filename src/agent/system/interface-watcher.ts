/**
 * Keeps the router's interface report current (DESIGN.md section 5: routers report their
 * interfaces at start and on every change). The dump is read again after an interface event
 * (debounced: netifd sends ifdown for wan and wan6 within milliseconds), whenever `ubus listen`
 * (re)starts, on `refresh()`, and on a periodic timer, because netifd sends no event when a lease
 * renewal or a new delegated prefix changes addresses without the interface going down. `onChange`
 * gets a report only when it differs from the last one, with its `version` raised by one.
 */
import { detach } from '../../core/detach.ts';
import type { Host, TimerHandle } from '../../core/host/index.ts';
import type { InterfacesBody } from '../../core/protocol/messages/interfaces.ts';
import type { CoreError } from '../../core/result.ts';
import { buildInterfaceReport, isRelevantEvent, sameReport, type InterfaceEvent, type InterfaceRoles } from '../../core/ubus/index.ts';
import { followInterfaceEvents, type EventFollower, type FollowOptions } from './ubus-listen.ts';
import { readInterfaces, type UbusCallOptions } from './ubus.ts';

export interface InterfaceWatcherOptions {
  readonly roles: InterfaceRoles;
  readonly onChange: (report: InterfacesBody) => void;
  /** A read or a report that failed; the last good report stays current. */
  readonly onError?: (error: CoreError) => void;
  /** Every event `ubus listen` delivered, relevant or not (for logs). */
  readonly onEvent?: (event: InterfaceEvent) => void;
  readonly debounceMs?: number;
  readonly pollMs?: number;
  /** The version of the first report; each change adds one. */
  readonly firstVersion?: number;
  readonly call?: UbusCallOptions;
  readonly follow?: Omit<FollowOptions, 'onStart'>;
}

export const DEBOUNCE_MS = 200;
export const POLL_MS = 60_000;

export class InterfaceWatcher {
  private current: InterfacesBody | null = null;
  private follower: EventFollower | null = null;
  private pending: TimerHandle | null = null;
  private poll: TimerHandle | null = null;
  private reading = false;
  private again = false;
  private running = false;

  constructor(
    private readonly host: Host,
    private readonly options: InterfaceWatcherOptions,
  ) {}

  /** The last report given to onChange, or null before the first good read. */
  get report(): InterfacesBody | null {
    return this.current;
  }

  /** Reads now, then follows events and polls until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.readNow();
    this.follower = followInterfaceEvents(
      this.host,
      (event) => {
        this.options.onEvent?.(event);
        if (isRelevantEvent(event, this.options.roles)) this.refresh();
      },
      // The first start is covered by the read above.
      { ...this.options.follow, onStart: (run) => (run > 1 ? this.refresh() : undefined) },
    );
    this.schedulePoll();
  }

  stop(): void {
    this.running = false;
    this.follower?.stop();
    this.follower = null;
    for (const timer of [this.pending, this.poll]) if (timer !== null) this.host.timers.clearTimeout(timer);
    this.pending = null;
    this.poll = null;
  }

  /** Reads the dump again soon; several calls within the debounce time make one read. */
  refresh(): void {
    if (!this.running || this.pending !== null) return;
    this.pending = this.host.timers.setTimeout(() => {
      this.pending = null;
      this.readNow();
    }, this.options.debounceMs ?? DEBOUNCE_MS);
  }

  private schedulePoll(): void {
    this.poll = this.host.timers.setTimeout(() => {
      this.poll = null;
      if (!this.running) return;
      this.readNow();
      this.schedulePoll();
    }, this.options.pollMs ?? POLL_MS);
  }

  /** Starts a read nobody waits for; a failure in it (an onChange that throws) goes to onError. */
  private readNow(): void {
    detach(this.read(), (error) => this.options.onError?.({ code: 'E_INTERNAL', message: String(error) }));
  }

  /** One read at a time; a request during a read makes one more read after it. */
  private async read(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      const dump = await readInterfaces(this.host, this.options.call);
      if (!this.running) return;
      if (!dump.ok) {
        this.options.onError?.(dump.error);
        return;
      }
      const version = this.current === null ? (this.options.firstVersion ?? 1) : this.current.version + 1;
      const next = buildInterfaceReport(dump.value, this.options.roles, version);
      if (!next.ok) this.options.onError?.(next.error);
      else if (this.current === null || !sameReport(this.current, next.value)) {
        this.current = next.value;
        this.options.onChange(next.value);
      }
    } finally {
      this.reading = false;
      if (this.again && this.running) {
        this.again = false;
        this.refresh();
      }
    }
  }
}
