/**
 * The server's side of each router's relationship (COPS client-open to client-close, carried over
 * MQTT): open/accept, keep-alive, presence, interface reports and state synchronisation. Reports
 * about gates are passed on to the session manager.
 *
 * Any server instance may receive any device's message (shared subscriptions), so nothing here
 * lives only in memory except caches: the store holds the truth.
 */
import { desiredDigest, gateHash } from '../../core/protocol/digest.ts';
import type { BodyOf, Message, MessageOf } from '../../core/protocol/envelope.ts';
import type { Logger } from '../../core/log.ts';
import { REASON_MAX } from '../../core/protocol/limits.ts';
import { codedText } from '../../core/text/bounded.ts';
import type { Outbox } from './outbox.ts';
import type { Store } from '../store/types.ts';

/** The part of the store this module uses. */
export type DeviceStore = Pick<
  Store,
  'getDevice' | 'listDevices' | 'upsertDeviceOpen' | 'setDeviceStatus' | 'touchDevice' | 'setReportedVersion' | 'putInterfaces' | 'desiredState' | 'desiredHashes'
>;

export interface DeviceLinkOptions {
  /** Upper bound on the keep-alive interval the server accepts; a device asking for more gets this. */
  readonly maxKeepaliveS: number;
  /** Interim usage report interval sent in `accept` (0: only when gates end). */
  readonly accountingS: number;
  /** Gates per sync.complete part. */
  readonly syncPartSize: number;
}

export const DEFAULT_DEVICE_LINK_OPTIONS: DeviceLinkOptions = { maxKeepaliveS: 60, accountingS: 0, syncPartSize: 32 };

/** Reports about gates, for the session manager. */
export interface GateReportSink {
  /** The device holds these gates as the server wanted them (installed, or confirmed by a sync). */
  installed(device: string, gateIds: readonly string[]): Promise<void>;
  removed(device: string, gateIds: readonly string[]): Promise<void>;
  failed(device: string, failures: readonly { id: string; code: string; message: string }[]): Promise<void>;
  accounting(device: string, message: MessageOf<'report.accounting'>): Promise<void>;
  /** The device removed gates by itself (lifetime over, interface down, ...). */
  deleted(device: string, message: MessageOf<'delete'>): Promise<void>;
  offline(device: string): Promise<void>;
}

/** Remembers the last message ids per device, so that a repeated message is answered alike, not redone. */
class RecentIds {
  private readonly byDevice = new Map<string, Map<string, Message | null>>();
  constructor(private readonly perDevice = 64) {}

  get(device: string, id: string): Message | null | undefined {
    return this.byDevice.get(device)?.get(id);
  }

  put(device: string, id: string, reply: Message | null): void {
    let ids = this.byDevice.get(device);
    if (!ids) this.byDevice.set(device, (ids = new Map()));
    ids.set(id, reply);
    if (ids.size > this.perDevice) ids.delete(ids.keys().next().value as string);
  }
}

/** How long a repeated open (same boot session, same content) is answered from memory. */
const OPEN_REPEAT_MS = 30_000;
/**
 * A device's desired summary goes out at most once per this many ms: the first change at once,
 * those that follow within the window together at its end. Each summary reads and hashes every
 * gate the device holds, so one per decision would cost O(gates) per call.
 */
export const DESIRED_WINDOW_MS = 50;

export class DeviceLink {
  /** Each device's last open handled here: a repeat of it within OPEN_REPEAT_MS is answered cheaply. */
  private readonly recentOpens = new Map<string, { boot: number; body: string; atMs: number; version: number }>();
  private readonly recent = new RecentIds();
  /**
   * The desired-state version each device's latest report named, not stored yet: it is written
   * with the device's next keep-alive, so that a report costs no store write of its own.
   */
  private readonly reportedVersions = new Map<string, number>();
  /** Devices whose desired summary went out within the last window; `again`: changed since. */
  private readonly desiredWindows = new Map<string, { again: boolean; timer: ReturnType<typeof setTimeout> | null }>();

  constructor(
    private readonly store: DeviceStore,
    private readonly outbox: Outbox,
    private readonly reports: GateReportSink,
    private readonly log: Logger,
    private readonly options: DeviceLinkOptions = DEFAULT_DEVICE_LINK_OPTIONS,
    private readonly now: () => number = Date.now,
    /** Called when a device's interface report changed, so that router location can be rebuilt. */
    private readonly onInterfaces: () => void = () => {},
  ) {}

  /** A validated message from `device`'s uplink or status topic. */
  async handle(device: string, message: Message): Promise<void> {
    if (message.device !== device) {
      this.log.warn('message names another sender than its topic; dropped', { device, sender: message.device, type: message.type });
      return;
    }
    const seen = this.recent.get(device, message.id);
    if (seen !== undefined) {
      // The same message again (a QoS 1 redelivery or a retry): the same answer, nothing redone.
      // It was built once already; a failure now is logged by the outbox and answered as the first would have been.
      if (seen !== null && !this.outbox.toDevice(device, seen.type, seen.body as never, seen.corr).ok) this.closeOnFailure(device, seen.type);
      return;
    }
    const reply = await this.dispatch(device, message);
    this.recent.put(device, message.id, reply);
  }

  private async dispatch(device: string, message: Message): Promise<Message | null> {
    const at = this.now();
    switch (message.type) {
      case 'open':
        return this.open(device, message);
      case 'keepalive': {
        await this.store.touchDevice(device, at);
        const reported = this.reportedVersions.get(device);
        if (reported !== undefined) {
          this.reportedVersions.delete(device);
          await this.store.setReportedVersion(device, reported);
        }
        return this.reply(device, 'keepalive', {}, message.id);
      }
      case 'status':
        await this.store.setDeviceStatus(device, message.body.state, at);
        if (message.body.state === 'offline') await this.reports.offline(device);
        return null;
      case 'close':
        await this.store.setDeviceStatus(device, 'offline', at);
        await this.reports.offline(device);
        this.log.info('device closed', { device, reason: message.body.reason });
        return null;
      case 'interfaces': {
        await this.store.touchDevice(device, at);
        const taken = await this.store.putInterfaces(device, message.body.version, message.body.interfaces, at);
        if (taken) this.onInterfaces();
        else this.log.debug('stale interface report ignored', { device, version: message.body.version });
        return null;
      }
      case 'sync.request':
        return this.sync(device, message);
      case 'report.success':
        this.reportedVersions.set(device, message.body.version);
        await this.reports.installed(device, message.body.gates);
        return null;
      case 'report.failure':
        this.reportedVersions.set(device, message.body.version);
        await this.reports.failed(device, message.body.gates);
        return null;
      case 'report.accounting':
        await this.reports.accounting(device, message);
        return null;
      case 'delete':
        await this.reports.deleted(device, message);
        return null;
      default:
        this.log.warn('message type not expected from a device; dropped', { device, type: message.type });
        return null;
    }
  }

  private reply<T extends 'accept' | 'keepalive' | 'sync.complete'>(device: string, type: T, body: BodyOf<T>, corr: string): Message | null {
    const sent = this.outbox.toDevice(device, type, body, corr);
    if (!sent.ok) {
      // The outbox logged the failure with the field's path.
      this.closeOnFailure(device, type, sent.error);
      return null;
    }
    return sent.value;
  }

  /**
   * A reply the device waits for could not be built: the device link's error reply is `close`
   * (protocol-error) naming it, after which the device reopens with its backoff and tries again,
   * rather than waiting for an answer that will never come.
   */
  private closeOnFailure(device: string, type: string, error?: { code: string; path?: string; message: string }): void {
    const detail = error === undefined ? `${type} could not be sent again` : `${type} could not be built: ${error.code} at ${error.path ?? ''}: ${error.message}`;
    const closed = this.outbox.toDevice(device, 'close', { reason: 'protocol-error', text: codedText('E_INTERNAL', detail, REASON_MAX) });
    if (closed.ok) this.log.error('device link closed: a reply could not be built', { device, type });
  }

  private async open(device: string, message: MessageOf<'open'>): Promise<Message | null> {
    const keepaliveS = Math.min(message.body.keepaliveS, this.options.maxKeepaliveS);
    const body = JSON.stringify(message.body);
    const recent = this.recentOpens.get(device);
    const now = this.now();
    if (recent && recent.boot === message.session && recent.body === body && now - recent.atMs < OPEN_REPEAT_MS) {
      // The same open again, while the server was slow to answer the first (after a broker
      // restart, thousands arrive at once): accept it as before, without the store work.
      return this.reply(device, 'accept', { server: this.outbox.serverId, keepaliveS, accountingS: this.options.accountingS, version: recent.version }, message.id);
    }
    const { agentVersion, board, capabilities, link, keepaliveS: asked } = message.body;
    const view = await this.store.upsertDeviceOpen({ id: device, bootSession: message.session, agentVersion, board, capabilities, link, keepaliveS: asked, atMs: now });
    this.log.info('device opened', { device, agent: message.body.agentVersion, boot: message.session, version: view.desiredVersion });
    this.recentOpens.set(device, { boot: message.session, body, atMs: now, version: view.desiredVersion });
    const reply = this.reply(device, 'accept', { server: this.outbox.serverId, keepaliveS, accountingS: this.options.accountingS, version: view.desiredVersion }, message.id);
    await this.publishDesired(device);
    return reply;
  }

  /**
   * Publishes the retained summary of what the device should hold: now, or if one went out less
   * than DESIRED_WINDOW_MS ago, once at the end of that window (the store is read then, so the
   * summary is never older than the last change).
   */
  async publishDesired(device: string): Promise<void> {
    const open = this.desiredWindows.get(device);
    if (open) {
      open.again = true;
      return;
    }
    const window = { again: false, timer: null as ReturnType<typeof setTimeout> | null };
    this.desiredWindows.set(device, window);
    window.timer = setTimeout(() => {
      this.desiredWindows.delete(device);
      if (window.again) void this.publishDesired(device).catch((err: unknown) => this.log.error('publishing desired state failed', { device, error: String(err) }));
    }, DESIRED_WINDOW_MS);
    window.timer.unref?.();
    await this.publishDesiredNow(device);
  }

  /** Ends the windows without publishing what they held back (the server is stopping). */
  close(): void {
    for (const w of this.desiredWindows.values()) if (w.timer) clearTimeout(w.timer);
    this.desiredWindows.clear();
  }

  private async publishDesiredNow(device: string): Promise<void> {
    const desired = (await this.store.desiredHashes(device)) ?? { version: 0, gates: [] };
    const digest = desiredDigest(desired.gates);
    const sent = this.outbox.desired(device, { version: desired.version, count: desired.gates.length, digest });
    if (!sent.ok) this.log.error('cannot publish desired state', { device, reason: sent.error.message });
  }

  /**
   * A device lists what it holds after a reconnect (COPS synchronize state). Gates it holds as
   * wanted count as installed; the last part is answered with the whole desired list, from which
   * the device installs what differs and removes what is not listed.
   */
  private async sync(device: string, message: MessageOf<'sync.request'>): Promise<Message | null> {
    const { version, gates: desired } = (await this.store.desiredState(device)) ?? { version: 0, gates: [] };
    const wanted = new Map(desired.map((g) => [g.id, gateHash(g)]));
    const held = message.body.gates.filter((g) => wanted.get(g.id) === g.hash).map((g) => g.id);
    if (held.length > 0) await this.reports.installed(device, held);
    if (message.body.part.index !== message.body.part.count - 1) return null;

    const size = this.options.syncPartSize;
    const count = Math.max(1, Math.ceil(desired.length / size));
    let last: Message | null = null;
    for (let index = 0; index < count; index += 1) {
      last = this.reply(device, 'sync.complete', { version, part: { index, count }, gates: desired.slice(index * size, (index + 1) * size) }, message.id);
    }
    this.log.info('device synchronised', { device, desired: desired.length, held: held.length, version });
    return last;
  }

  /** Marks devices offline that missed three keep-alive intervals (their will may never come). */
  async expireSilent(): Promise<string[]> {
    const now = this.now();
    const online = await this.store.listDevices({ status: 'online' });
    const silent = online.filter((d) => d.lastSeenMs < now - 3 * (d.keepaliveS ?? this.options.maxKeepaliveS) * 1000);
    for (const d of silent) {
      await this.store.setDeviceStatus(d.id, 'offline', now);
      await this.reports.offline(d.id);
      this.log.warn('device silent for three keep-alive intervals; offline', { device: d.id });
    }
    return silent.map((d) => d.id);
  }
}
