/**
 * The cloud link as the daemon starts it: the transport (mosquitto clients), the control session
 * on top, and the daemon's gates behind a port. Started only when `config cloud` is enabled and
 * names a broker.
 */
import type { AgentConfig } from '../../core/config/index.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import type { InterfacesBody } from '../../core/protocol/messages/interfaces.ts';
import type { OpenBody } from '../../core/protocol/messages/session.ts';
import type { ConfigReportBody } from '../../core/protocol/messages/config.ts';
import type { EndedGate } from '../daemon/gates.ts';
import { CloudSession } from './session.ts';
import type { CommandPort, GatePort, SessionOptions } from './session.ts';
import { Transport, type PasswordChoice } from './transport.ts';

export interface CloudLinkHandle {
  interfacesChanged(): void;
  gateEnded(ended: EndedGate): void;
  /** Sends a `config.report` on the accepted session; false when the session is not accepted. */
  sendConfigReport(body: ConfigReportBody, corr: string | undefined): boolean;
  /**
   * What `open` tells of the router (its line, its EF budget) changed on a reload: the session
   * opens again on the same connection, as after a reconnect, so that the server admits calls
   * against the new figures.
   */
  describeChanged(): void;
  stop(): void;
}

/** The boot counter: one more than last time, kept in the state directory (it is cleared at reboot, as the protocol allows). */
function nextBootSession(host: Host, log: Logger, stateDir: string): number {
  const path = `${stateDir}/boot`;
  const read = host.files.readText(path);
  const last = read.ok ? Number.parseInt(read.value, 10) : 0;
  const next = Number.isSafeInteger(last) && last >= 0 && last < 2147483646 ? last + 1 : 1;
  const kept = host.files.writeAtomic(path, `${next}\n`);
  // Unkept, the next start would reuse this number and the server would take its messages for repeats.
  if (!kept.ok) log.error('cannot keep the boot counter', { path, code: kept.error.code });
  return next;
}

export function startCloudLink(
  host: Host,
  log: Logger,
  config: AgentConfig,
  deviceId: string,
  describe: () => Omit<OpenBody, 'keepaliveS'>,
  interfaces: () => InterfacesBody | null,
  gates: GatePort,
  configPort?: SessionOptions['config'],
  /** The fleet's remote commands, and the password being rotated (an enrolled login). */
  extras: { readonly commands?: CommandPort; readonly passwordChoice?: PasswordChoice } = {},
): CloudLinkHandle | null {
  const cloud = config.cloud;
  if (!cloud.enabled) return null;
  const broker = cloud.broker;
  if (broker === undefined) {
    log.error('cloud link enabled without a broker; not connecting');
    return null;
  }
  const stateDir = config.agent.stateDir;
  const bootSession = nextBootSession(host, log, stateDir);
  let session: CloudSession | null = null;
  // Messages are handled one at a time, in the order they came.
  let inbox: Promise<void> = Promise.resolve();
  const transport: Transport = new Transport(
    host,
    log.child('mqtt'),
    {
      ...cloud,
      broker,
      deviceId,
      stateDir,
      instance: String(bootSession),
      willPayload: () => session?.statusText('offline') ?? '',
      ...(extras.passwordChoice ? { passwordChoice: extras.passwordChoice } : {}),
    },
    (topic, text) => {
      inbox = inbox.then(() => session?.receive(topic, text)).catch((err: unknown) => log.error('cloud message handling failed', { error: String(err) }));
    },
    () => session?.started(),
  );
  session = new CloudSession(
    host,
    log.child('cloud'),
    { deviceId, bootSession, keepaliveS: cloud.keepaliveS, describe, interfaces, ...(configPort ? { config: configPort } : {}) },
    gates,
    {
      send: (text) => transport.send(text),
      publishStatus: (text) => transport.publishRetained('status', text),
      restart: (reason) => transport.restart(reason),
      healthy: () => transport.healthy(),
    },
    extras.commands ?? null,
  );
  transport.start();
  log.info('cloud link starting', { broker: `${broker}:${cloud.port}`, tls: cloud.tls, boot: bootSession });
  return {
    interfacesChanged: () => session?.sendInterfaces(),
    gateEnded: (ended) => {
      if (ended.source === 'cloud') session?.gateEnded(ended.gate.id, ended.usage, ended.reason);
    },
    sendConfigReport: (body, corr) => session?.sendConfigReport(body, corr) ?? false,
    describeChanged: () => session?.started(),
    stop: () => {
      session?.stop();
      transport.publishRetained('status', session?.statusText('offline') ?? '');
      transport.stop();
    },
  };
}
