/**
 * The QoS control server assembled: inbound routing from the broker to the device link and the
 * session API, the session manager, the router index, the periodic jobs (deadlines, silent
 * devices, index refresh), and the HTTP front. The broker connection and the store are given, so
 * that tests and `main.ts` choose them.
 */
import type { RequestListener } from 'node:http';
import { detach } from '../../core/detach.ts';
import { allCcFilter, allDevicesFilter, allEnrolFilter, chTopic } from '../../core/protocol/topics.ts';
import { decodeMessage, type Message } from '../../core/protocol/envelope.ts';
import type { CoreError } from '../../core/result.ts';
import type { VerifierFor } from '../../core/clearinghouse/token.ts';
import { Authorizer } from './authorizer.ts';
import { ClearinghouseClient } from './clearinghouse-client.ts';
import { MqttSessionClient } from '../sip/session-client.ts';
import { Peering } from './peering.ts';
import type { Logger } from '../../core/log.ts';
import type { Store } from '../store/types.ts';
import { CcApi } from './cc-api.ts';
import { ownRoot, peerRoot, type ServerConfig } from './config.ts';
import { DeviceLink } from './devices.ts';
import { HttpApi } from './http-api.ts';
import { Inbound } from './inbound.ts';
import { Outbox, newSenderSession } from './outbox.ts';
import type { Publisher } from './outbox.ts';
import { RouterIndex } from './router-index.ts';
import { scopesView } from './scopes-view.ts';
import { SessionManager } from './sessions.ts';
import type { AdmissionCheck, Planner } from './sessions.ts';
import { REASON_CODES, refusal } from './reasons.ts';
import { EnrolmentService, type EnrolmentOptions } from '../fleet/enrolment.ts';
import { FleetActionsService } from '../fleet/actions-service.ts';
import { CommandService } from '../fleet/commands.ts';
import type { FleetActions } from '../fleet/actions.ts';
import type { BrokerIdentities } from '../fleet/identities.ts';
import type { FleetStore } from '../fleet/store/types.ts';
import { ConfigService } from '../fleet/config-service.ts';

/** The broker as the server uses it. */
export interface Bus extends Publisher {
  subscribe(filter: string, onMessage: (topic: string, text: string) => void): Promise<void>;
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

/** Fleet management: routers enrol with a key and get a broker login of their own; operators act on them. */
export interface FleetParts {
  readonly store: FleetStore;
  readonly identities: BrokerIdentities;
  readonly enrolment?: Partial<EnrolmentOptions>;
}

export interface QosServerParts {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly bus: Bus;
  readonly planner: Planner;
  readonly admit: AdmissionCheck;
  readonly log: Logger;
  readonly now?: () => number;
  /** The clearinghouse's public keys, to verify tokens call control presents (authorization on). */
  readonly verifierFor?: VerifierFor | null;
  /** With it: enrolment requests are taken and answered, and `fleetActions` is there. */
  readonly fleet?: FleetParts;
  /**
   * Serves the session API's handler on a server of the caller's (the fleet API's port) instead of
   * a listener of its own; returns where that server listens.
   */
  readonly mountHttp?: (listener: RequestListener) => Promise<{ host: string; port: number }>;
}

const SWEEP_MS = 100;
/** How often usage indications the clearinghouse has not confirmed are sent again. */
const USAGE_RESEND_MS = 10_000;
const INDEX_REFRESH_MS = 1000;
/** How often command deadlines are checked. */
const COMMAND_SWEEP_MS = 1000;

export class QosServer {
  readonly outbox: Outbox;
  readonly devices: DeviceLink;
  readonly sessions: SessionManager;
  readonly inbound: Inbound;
  readonly index: RouterIndex;
  /** With authorization on: the link to the clearinghouse. */
  readonly clearinghouse: ClearinghouseClient | null;
  /** With the fleet part: enrolment, and what operators do to the fleet (revoking ends the router's gates here). */
  readonly enrolment: EnrolmentService | null;
  readonly fleetActions: FleetActions | null;
  /** With the fleet part: remote commands to routers (src/cloud/fleet/commands.ts). */
  readonly commands: CommandService | null;
  /** With the fleet part: versioned configuration (src/cloud/fleet/config-service.ts). */
  readonly fleetConfig: ConfigService | null;
  private http: HttpApi | null = null;
  private readonly timers: ReturnType<typeof setInterval>[] = [];

  constructor(private readonly parts: QosServerParts) {
    const { config, store, bus, log } = parts;
    const now = parts.now ?? Date.now;
    // A new session number on every start, so routers see the restart.
    this.outbox = new Outbox(bus, log.child('outbox'), config.serverId, newSenderSession(), now, ownRoot(config));
    this.index = new RouterIndex(store, log.child('index'), now, config.routedScopes);
    let devices: DeviceLink | null = null;
    // With authorization on: the clearinghouse link, and the authorizer that uses it.
    let authorization: { authorizer: Authorizer; clearinghouse: ClearinghouseClient } | null = null;
    if (config.authorization !== 'off') {
      const clearinghouse = new ClearinghouseClient(this.outbox, config.clearinghouseTimeoutMs, log.child('clearinghouse'));
      const authorizer = new Authorizer({
        policy: config.authorization,
        domain: config.domain ?? config.serverId,
        verifierFor: parts.verifierFor ?? null,
        clearinghouse,
        store,
        log: log.child('authorization'),
        now,
      });
      authorization = { authorizer, clearinghouse };
    }
    this.clearinghouse = authorization?.clearinghouse ?? null;
    this.sessions = new SessionManager({
      ...(authorization ?? {}),
      store,
      outbox: this.outbox,
      planner: parts.planner,
      admit: parts.admit,
      locator: () => this.index.current(),
      publishDesired: (device) => devices!.publishDesired(device),
      config,
      log: log.child('sessions'),
      now,
    });
    devices = new DeviceLink(
      store,
      this.outbox,
      this.sessions,
      log.child('devices'),
      { maxKeepaliveS: config.maxKeepaliveS, accountingS: config.accountingS, syncPartSize: 32 },
      now,
      // A store that fails here is tried again at the next report or the periodic refresh.
      () => detach(this.index.refresh(), (error) => log.error('cannot refresh the router index', { error: String(error) })),
    );
    this.devices = devices;
    const cc = new CcApi(this.sessions, this.outbox, log.child('cc'));
    const fleet = parts.fleet;
    const enrolment = fleet ? new EnrolmentService({ store: fleet.store, identities: fleet.identities, answers: this.outbox, log: log.child('enrolment'), now, options: fleet.enrolment }) : null;
    this.enrolment = enrolment;
    this.fleetActions = fleet
      ? new FleetActionsService({
        store: fleet.store,
        identities: fleet.identities,
        endDeviceGates: (device, reason) => this.sessions.endDeviceLines(device, refusal(REASON_CODES.revoked, reason.detail)),
        log: log.child('fleet'),
        now,
      })
      : null;
    const fleetConfig = fleet ? new ConfigService({ fleet: fleet.store, store, outbox: this.outbox, log: log.child('config'), now }) : null;
    this.fleetConfig = fleetConfig;
    // Remote commands take the routers' results, and send what waits for a router once it opened.
    const commands = fleet ? new CommandService({ fleet: fleet.store, store, identities: fleet.identities, send: (device, body) => this.outbox.toDevice(device, 'command', body), log: log.child('commands'), now }) : null;
    this.commands = commands;
    const withCommands = (handle: (id: string, m: Message) => Promise<void>) => (commands ? (id: string, m: Message) => commands.fromDevice(id, m, () => handle(id, m)) : handle);
    this.inbound = new Inbound(
      {
        // Configuration reports go to the fleet's configuration; after an open, the router gets its desired version.
        device: withCommands(fleetConfig
          ? async (id, m) => {
            if (m.type === 'config.report') return fleetConfig.handleReport(id, m);
            await devices.handle(id, m);
            if (m.type === 'open') await fleetConfig.onOpen(id);
          }
          : (id, m) => devices.handle(id, m)),
        callControl: (id, m) => cc.handle(id, m),
        invalidRequest: (id, text, error) => cc.refuseInvalid(id, text, error),
        ...(enrolment ? { enrol: (id: string, m: Message) => enrolment.handle(id, m), invalidEnrol: (id: string, text: string, error: CoreError) => enrolment.refuseInvalid(id, text, error) } : {}),
      },
      log.child('inbound'),
      now,
      ownRoot(config),
    );
  }

  /** Subscribes, starts the periodic jobs and the HTTP API; returns where HTTP listens (null: off). */
  async start(): Promise<{ http: { host: string; port: number } | null }> {
    const { bus, config, log } = this.parts;
    if (config.peers.length > 0) {
      // Peer servers are asked as a call-control client would ask them, on this server's own cc
      // topics: in the plain tree (bridged), or on a shared broker in each peer domain's tree.
      const clients = new Map<string, MqttSessionClient>();
      for (const peer of config.peers) {
        const root = peerRoot(config, peer);
        if (!clients.has(root)) clients.set(root, await MqttSessionClient.connect(bus, config.serverId, config.decisionDeadlineMs + 3000, log.child('peers'), root));
      }
      this.sessions.usePeering(new Peering(config.peers, (peer) => clients.get(peerRoot(config, peer))!, log.child('peers')));
    }
    await this.index.refresh();
    const share = config.shareGroup ?? undefined;
    const receive = (topic: string, text: string) => detach(this.inbound.receive(topic, text), (error) => log.error('receiving a message failed', { topic, error: String(error) }));
    const root = ownRoot(config);
    await bus.subscribe(allDevicesFilter('up', share, root), receive);
    await bus.subscribe(allDevicesFilter('status', share, root), receive);
    await bus.subscribe(allCcFilter('req', share, root), receive);
    if (this.parts.fleet) {
      // The shared enrolment login and its rights must exist before a router can ask.
      const prepared = await this.parts.fleet.identities.prepare();
      if (!prepared.ok) throw new Error(`the broker identities could not be prepared: ${prepared.error.code}: ${prepared.error.message}`);
      await bus.subscribe(allEnrolFilter('req', share, root), receive);
    }
    const clearinghouse = this.clearinghouse;
    if (clearinghouse) {
      // This instance's own answers: not shared, each instance asks on its own topic.
      await bus.subscribe(chTopic(config.serverId, 'res'), (_topic, text) => {
        const decoded = decodeMessage(text);
        if (decoded.ok) clearinghouse.receive(decoded.value);
        else log.warn('malformed clearinghouse answer dropped', { code: decoded.error.code, reason: decoded.error.message.slice(0, 200) });
      });
    }
    // A broker that restarted without persistence lost the retained desired state: publish it
    // again. A router gets it at its own reconnect and resynchronises if it differs.
    bus.onReconnect(() => void this.republishDesired().catch((err: unknown) => log.error('republishing desired state failed', { error: String(err) })));
    const every = (ms: number, job: () => Promise<unknown>, name: string) => {
      const timer = setInterval(() => void job().catch((err: unknown) => log.error(`${name} failed`, { error: String(err) })), ms);
      timer.unref?.();
      this.timers.push(timer);
    };
    every(SWEEP_MS, () => this.sessions.sweep(), 'deadline sweep');
    // Every tenth of a lifetime, so that a gate is renewed between half and 0.6 of its lifetime.
    every(Math.max(1000, config.gateLifetimeS * 100), () => this.sessions.refreshGates(), 'gate lifetime renewal');
    every(INDEX_REFRESH_MS, () => this.index.refresh(), 'router index refresh');
    every(config.maxKeepaliveS * 1000, () => this.devices.expireSilent(), 'silent device check');
    const fleetConfig = this.fleetConfig;
    if (fleetConfig) every(1000, () => fleetConfig.expireWaves(), 'rollout wave deadlines');
    const commands = this.commands;
    if (commands) every(COMMAND_SWEEP_MS, () => commands.sweep(), 'command deadlines');
    if (clearinghouse) every(USAGE_RESEND_MS, () => this.sessions.resendUsage(), 'usage resend');
    let http: { host: string; port: number } | null = null;
    if (config.httpPort !== null) {
      this.http = new HttpApi(this.sessions, { host: config.httpHost, port: config.httpPort, onError: (m, f) => log.error(m, { error: String(f.error) }), log: log.child('http'), routedScopes: async () => scopesView(config.routedScopes, await this.index.claims()) });
      http = this.parts.mountHttp ? await this.parts.mountHttp(this.http.listener()) : await this.http.start();
    }
    log.info('QoS control server running', { id: config.serverId, http: http ? `${http.host}:${http.port}` : 'off', store: this.parts.store.backend, enrolment: this.parts.fleet ? this.parts.fleet.identities.kind : 'off' });
    return { http };
  }

  private async republishDesired(): Promise<void> {
    const devices = await this.parts.store.listDevices();
    for (const d of devices) await this.devices.publishDesired(d.id);
    this.parts.log.info('desired state published again after reconnecting to the broker', { devices: devices.length });
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.devices.close();
    this.index.close();
    await this.http?.stop();
    await this.parts.bus.close();
  }
}
