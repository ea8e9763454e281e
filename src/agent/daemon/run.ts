/**
 * `callqos-agent run`: the daemon procd starts. It converges the kernel to its gates on start
 * (one atomic rebuild, counters kept: no gap in marking for live calls), rebuilds its table the
 * moment `nft monitor` reports it deleted (firewall stop, `nft flush ruleset`) and, as a safety
 * net, whenever a check every CHECK_INTERVAL_MS finds it missing or from an older agent; removes
 * gates whose lifetime ended (checked every TICK_MS), serves the local command FIFO, re-reads its
 * config on SIGHUP and stops on SIGTERM (leaving the kernel as it is, so that a restart loses no
 * marking).
 */
import type { AgentConfig } from '../../core/config/index.ts';
import { dataplaneSettings } from '../../core/dataplane/settings.ts';
import type { DataplaneGate } from '../../core/dataplane/model.ts';
import { parseLocalCommand, replyNameOf } from '../../core/gates/local-command.ts';
import type { LocalCommand } from '../../core/gates/local-command.ts';
import { detach } from '../../core/detach.ts';
import type { Host } from '../../core/host/index.ts';
import { createLogger } from '../../core/log.ts';
import type { Logger } from '../../core/log.ts';
import type { Result } from '../../core/result.ts';
import { execute } from '../exec.ts';
import { loadConfig } from '../load-config.ts';
import { AGENT_VERSION } from '../version.ts';
import { Dataplane } from './dataplane.ts';
import { GateManager } from './gates.ts';
import { Queueing } from './queueing.ts';
import { TableMonitor } from './table-monitor.ts';
import { InterfaceWatcher, readBoard } from '../system/index.ts';
import { startCloudLink } from '../cloud/index.ts';
import { startCloudWithLogin } from '../fleet/index.ts';
import { ConfigApplier, VERSIONS_DIR } from '../fleet/config-apply.ts';
import type { SelfTest } from '../../core/protocol/messages/config.ts';
import type { CloudLinkHandle } from '../cloud/index.ts';
import type { InterfacesBody } from '../../core/protocol/messages/interfaces.ts';
import type { TcDevices } from '../../core/queueing/index.ts';
import { BOARD_TARGET_MAX, BOARD_TEXT_MAX } from '../../core/protocol/limits.ts';
import { bounded } from '../../core/text/bounded.ts';
import { RecentLines, RemoteCommands } from './remote-commands.ts';
import { CredentialRotation } from '../fleet/rotation.ts';
import { PASSWORD_FILE } from '../fleet/credentials.ts';

/** A table check lists the whole table (nft 1.0.6 has no cheaper query): rare, since the monitor tells. */
export const CHECK_INTERVAL_MS = 60_000;
export const TICK_MS = 2_000;
/** How long the self-test watches a live gate's counters. */
export const SELF_TEST_WATCH_MS = 1_000;
const SELF_TEST_GATES = 8;

const staticGates = (config: AgentConfig): DataplaneGate[] => config.gates.map((gate) => ({ ...gate, lifetimeS: null }));

export async function runDaemon(host: Host, configPath: string): Promise<number> {
  const bootLog = createLogger((line) => host.writeErrLine(line), 'info');
  const loaded = loadConfig(host, bootLog, configPath);
  if (loaded === null) return 1;
  let config: AgentConfig = loaded;
  // The recent lines are kept for the fleet's diagnostics command.
  const recentLog = new RecentLines();
  const log = createLogger((line) => (host.writeErrLine(line), recentLog.push(line)), config.agent.logLevel);
  const stateDir = config.agent.stateDir;
  for (const dir of [stateDir, `${stateDir}/replies`]) {
    const made = host.files.makeDir(dir);
    if (!made.ok) {
      log.error('cannot create state directory', { path: dir, code: made.error.code });
      return 1;
    }
  }

  const dataplane = new Dataplane(host, log.child('nft'));
  const queueing = new Queueing(host, log.child('tc'));
  let report: InterfacesBody | null = null;
  /** The config's devices, else the l3_device netifd reports for the WAN and LAN interfaces. */
  const devices = (): TcDevices | null => {
    const reported = (name: string) => report?.interfaces.find((i) => i.name === name && i.up)?.device ?? undefined;
    const wanDevice = config.qos.wanDevice ?? reported(config.qos.wanInterface);
    const lanDevice = config.qos.lanDevice ?? reported(config.qos.lanInterface);
    return wanDevice && lanDevice ? { wanDevice, lanDevice } : null;
  };
  let watcher: InterfaceWatcher | null = null;
  let cloud: CloudLinkHandle | null = null;
  // Made once the link can start (below); local reloads before then have no version to compare with.
  let applier: ConfigApplier | null = null;
  const gates = new GateManager(host, log.child('gates'), dataplane, `${stateDir}/state.json`, dataplaneSettings(config));
  gates.loadState();
  gates.setStaticGates(staticGates(config));

  // Every change to gates or kernel goes through this chain, one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch((err: unknown) => log.error('internal error', { error: String(err) }));
    return next;
  };
  // Work whose outcome nobody waits for: serial() has logged a failure already.
  const enqueue = (work: () => Promise<unknown>): void => detach(serial(work), () => undefined);

  // What the rpcd plugin's `status` shows; each write updates the fields it names.
  const statusFields: Record<string, unknown> = { version: AGENT_VERSION, configPath };
  const writeStatus = (update: Record<string, unknown> = {}) => {
    Object.assign(statusFields, update, { gates: gates.list().length, updatedAtMs: Math.round(host.clock.wallMs()) });
    const written = host.files.writeAtomic(`${stateDir}/status.json`, JSON.stringify(statusFields) + '\n');
    if (!written.ok) log.error('cannot write status', { path: `${stateDir}/status.json`, code: written.error.code });
  };

  const shape = async (force: boolean) => {
    const shapedDevices = devices();
    const applied = await queueing.apply(config, shapedDevices, force);
    writeStatus({ devices: shapedDevices });
    if (!applied.ok) log.error('cannot apply queueing', { error: applied.error.message });
    return applied;
  };

  const rebuild = async (why: string): Promise<Result<void>> => {
    const rebuilt = await gates.rebuild();
    if (rebuilt.ok) log.info('data plane converged', { reason: why, gates: gates.list().length });
    else log.error('cannot apply data plane', { reason: why, error: rebuilt.error.message });
    writeStatus({ lastSync: why, lastError: rebuilt.ok ? null : rebuilt.error.message });
    return rebuilt;
  };

  /** The figures `open` gives the server to admit calls against. */
  const lineOf = (c: AgentConfig): string => `${c.qos.uplinkKbit}/${c.qos.downlinkKbit}/${c.qos.efBudgetPercent}`;

  const reload = async (): Promise<Result<void>> => {
    const next = loadConfig(host, log, configPath);
    if (next === null) return { ok: false, error: { code: 'E_CONFIG', message: `config ${configPath} is unusable; keeping the running one` } };
    const lineBefore = lineOf(config);
    config = next;
    gates.setSettings(dataplaneSettings(config));
    gates.setStaticGates(staticGates(config));
    const rebuilt = await rebuild('reload');
    const shaped = await shape(false);
    // However the config changed (SIGHUP, rpcd, a fleet version, a remote reload), the server
    // must budget EF against the new line: it learns the line only from `open`.
    if (lineOf(config) !== lineBefore && cloud !== null) {
      log.info('the line or EF budget changed: opening the cloud session again', { line: lineOf(config) });
      cloud.describeChanged();
    }
    return rebuilt.ok ? shaped : rebuilt;
  };

  const perform = async (command: LocalCommand): Promise<Result<unknown>> => {
    switch (command.cmd) {
      case 'gate_add':
        return gates.add(command.gate, 'local');
      case 'gate_remove':
        return gates.remove(command.id, 'removed');
      case 'reconcile': {
        // Sent by the hotplug hook: an interface that came up again has lost its qdiscs, and an
        // ifupdate (new addresses, a new delegated prefix) sends no ubus event.
        watcher?.refresh();
        const shaped = await shape(true);
        const rebuilt = (await dataplane.isCurrent()) ? { ok: true as const, value: undefined } : await rebuild('reconcile');
        return rebuilt.ok ? shaped : rebuilt;
      }
      case 'reload': {
        const reloaded = await reload();
        applier?.checkDrift('reload');
        return reloaded;
      }
    }
  };

  const answer = (reply: string | null, result: Result<unknown>) => {
    if (reply === null) return;
    // The command's caller waits for this file: a failed write leaves it to its timeout, so say why.
    const written = host.files.writeAtomic(`${stateDir}/replies/${reply}.json`, JSON.stringify(result) + '\n');
    if (!written.ok) log.error('cannot write a command reply', { reply, code: written.error.code });
  };

  const onCommand = (line: string) => {
    const command = parseLocalCommand(line);
    if (!command.ok) {
      log.warn('bad local command', { code: command.error.code, field: command.error.path, reason: command.error.message });
      answer(replyNameOf(line), command);
      return;
    }
    enqueue(async () => {
      const result = await perform(command.value);
      if (!result.ok) log.warn(`${command.value.cmd} refused`, { code: result.error.code, reason: result.error.message });
      answer(command.value.reply, result);
      writeStatus();
    });
  };

  const fifoPath = `${stateDir}/cmd`;
  if (!host.files.exists(fifoPath)) {
    const made = await execute(host, ['mkfifo', '-m', '0600', fifoPath]);
    if (made.status.code !== 0) log.error('cannot create command FIFO', { path: fifoPath });
  }
  const fifo = host.files.listenFifo(fifoPath, onCommand);
  if (!fifo.ok) log.error('local commands unavailable', { path: fifoPath, code: fifo.error.code });

  // Each has logged why it failed; the agent runs on (the table check rebuilds a table that is not
  // current, a reload or hotplug reconcile applies the queueing again), and says so once here.
  const started = await serial(() => rebuild('start'));
  const shaped = await serial(() => shape(true));
  if (!started.ok || !shaped.ok) log.warn('running with the data plane incomplete', { table: started.ok, queueing: shaped.ok });

  // The interface report (seed 004 claim 4): kept current from netifd, written for the rpcd plugin.
  let ubusFailures = 0;
  watcher = new InterfaceWatcher(host, {
    roles: { wan: [config.qos.wanInterface], lan: [config.qos.lanInterface] },
    onChange: (next) => {
      report = next;
      const written = host.files.writeAtomic(`${stateDir}/interfaces.json`, JSON.stringify(next) + '\n');
      if (!written.ok) log.error('cannot write the interface report', { path: `${stateDir}/interfaces.json`, code: written.error.code });
      cloud?.interfacesChanged();
      log.info('interfaces changed', { version: next.version, interfaces: next.interfaces.length });
      enqueue(() => shape(false));
    },
    // Without ubusd (not an OpenWrt system) every read fails: say so once, not every minute.
    onError: (error) => {
      if (ubusFailures++ === 0) log.warn('cannot read interfaces from ubus', { code: error.code, reason: error.message });
    },
  });
  watcher.start();

  // The link to the QoS control server (config cloud), when enabled.
  const board = await readBoard(host);
  const boardInfo = board.ok ? board.value : null;
  // The login: configured by hand, saved by an earlier enrolment, or enrolled for now (src/agent/fleet/).
  // The fleet's remote commands (remote-commands.ts); a password to rotate only with an enrolled login.
  let requestStop = (): void => undefined;
  let rotation: { dir: string; rotation: CredentialRotation } | null = null;
  const rotationFor = (linkConfig: AgentConfig): CredentialRotation | null => {
    const dir = linkConfig.cloud.credentialsDir;
    if (config.cloud.passwordFile !== undefined || linkConfig.cloud.passwordFile !== `${dir}/${PASSWORD_FILE}`) return null;
    if (rotation?.dir !== dir) rotation = { dir, rotation: new CredentialRotation(host, log.child('rotation'), dir) };
    return rotation.rotation;
  };
  const remoteCommands = (linkConfig: AgentConfig) =>
    new RemoteCommands({
      host,
      log: log.child('command'),
      config: () => config,
      reload: async () => {
        const reloaded = await serial(reload);
        // As after a local reload: a config changed by hand is drift to report.
        applier?.checkDrift('reload');
        return reloaded;
      },
      addLocalGate: (gate) => serial(() => gates.add(gate, 'local')),
      liveGates: () => gates.list().map((l) => l.gate),
      shapedDevices: devices,
      recentLog: () => recentLog.list(),
      restart: () => requestStop(),
      rotation: rotationFor(linkConfig),
    });
  const startLink = (linkConfig: AgentConfig, linkDeviceId: string) => {
    cloud = startCloudLink(
      host,
      log,
      linkConfig,
      linkDeviceId,
      () => ({
        agentVersion: AGENT_VERSION,
        // procd's strings run to 256 bytes, more than `open` carries: cut, so that the open always builds.
        board: {
          model: bounded(boardInfo?.model || 'unknown', BOARD_TEXT_MAX),
          name: bounded(boardInfo?.boardName || 'unknown', BOARD_TEXT_MAX),
          release: bounded(boardInfo?.release?.description || 'unknown', BOARD_TEXT_MAX),
          target: bounded(boardInfo?.release?.target || 'unknown', BOARD_TARGET_MAX),
        },
        capabilities: { queues: ['htb'], ipv6: true, maxGates: 4096 },
        link: { upKbps: config.qos.uplinkKbit, downKbps: config.qos.downlinkKbit, efBudgetPercent: config.qos.efBudgetPercent },
      }),
      () => report,
      {
        cloudGates: () => gates.list().filter((l) => l.source === 'cloud').map((l) => ({ gate: l.gate, ref: l.ref })),
        add: (gate, ref) => serial(() => gates.add(gate, 'cloud', ref)),
        remove: (id) => serial(() => gates.remove(id, 'removed')),
      },
      configPort,
      { commands: remoteCommands(linkConfig), ...(rotationFor(linkConfig) ? { passwordChoice: rotationFor(linkConfig)! } : {}) },
    );
  };
  // Configuration versions from the fleet (src/agent/fleet/config-apply.ts), checked against the
  // kernel after each apply: the table, the shaping classes, a live gate's counters.
  const selfTest = async (): Promise<SelfTest> => {
    const table = (await serial(() => dataplane.isCurrent())) ? 'ok' : 'missing';
    const shaped = devices();
    let queues: SelfTest['queues'] = 'skipped';
    if (config.qos.queueBackend !== 'none' && shaped !== null) {
      const listed = await execute(host, ['tc', 'class', 'show', 'dev', shaped.wanDevice]);
      queues = listed.status.code === 0 && listed.stdout.some((line) => line.startsWith('class ')) ? 'ok' : 'missing';
    }
    const live = gates.list().slice(0, SELF_TEST_GATES).map((g) => g.gate.id);
    const total = async (id: string) => {
      const u = await serial(() => gates.usage(id));
      return u === null ? 0 : u.up.packets + u.down.packets;
    };
    const first = await Promise.all(live.map(total));
    let counters: SelfTest['counters'] = 'skipped';
    if (first.some((n) => n > 0)) {
      await new Promise<void>((resolve) => host.timers.setTimeout(resolve, SELF_TEST_WATCH_MS));
      const second = await Promise.all(live.map(total));
      counters = second.some((n, i) => n > (first[i] ?? 0)) ? 'ok' : 'stalled';
    }
    return { table, queues, counters };
  };
  let fleet: { stop(): void } = { stop: () => undefined };
  const configApplier = new ConfigApplier(
    host,
    log.child('config'),
    { configPath, versionsDir: `${config.cloud.credentialsDir}/${VERSIONS_DIR}` },
    {
      reload: () => serial(reload),
      relink: () => {
        fleet.stop();
        cloud?.stop();
        cloud = null;
        connect();
      },
      selfTest,
      send: (body, corr) => cloud?.sendConfigReport(body, corr) ?? false,
    },
  );
  applier = configApplier;
  const configPort = { accepted: () => configApplier.linkAccepted(), apply: (id: string, body: Parameters<ConfigApplier['apply']>[1]) => configApplier.apply(id, body) };
  const connect = () => {
    const linkDeviceId = config.agent.deviceId ?? boardInfo?.hostname ?? 'OpenWrt';
    fleet = startCloudWithLogin(host, log, config, linkDeviceId, startLink, (enrolment) => writeStatus({ enrolment }));
  };
  connect();
  configApplier.start();
  gates.onEnded((ended) => cloud?.gateEnded(ended));
  log.info('callqos agent running', { version: AGENT_VERSION, gates: gates.list().length, cloud: cloud !== null });

  // Each rebuild replaces the table, so the monitor reports the agent's own deletes too: check first.
  const monitor = new TableMonitor(host, log.child('nft'), () => {
    enqueue(async () => {
      if (!(await dataplane.isCurrent())) return rebuild('table deleted');
    });
  });
  monitor.start();

  let lastCheck = host.clock.monotonicMs();
  const tick = () => {
    const checked = serial(async () => {
      await gates.expire();
      if (host.clock.monotonicMs() - lastCheck < CHECK_INTERVAL_MS) return;
      lastCheck = host.clock.monotonicMs();
      if (!(await dataplane.isCurrent())) return rebuild('table missing or outdated');
    }).finally(() => host.timers.setTimeout(tick, Math.min(TICK_MS, gates.nextExpiryInMs() ?? TICK_MS)));
    detach(checked, () => undefined);
  };
  host.timers.setTimeout(tick, TICK_MS);

  return new Promise<number>((resolve) => {
    host.onSignal('SIGHUP', () =>
      enqueue(async () => {
        const reloaded = await reload();
        configApplier.checkDrift('reload');
        return reloaded;
      }),
    );
    const stop = () => {
      enqueue(async () => {
        if (fifo.ok) fifo.value.close();
        watcher?.stop();
        monitor.stop();
        configApplier.stop();
        fleet.stop();
        cloud?.stop();
        gates.persist();
        log.info('callqos agent stopped; the kernel keeps its gates until they expire');
        resolve(0);
      });
    };
    requestStop = stop;
    host.onSignal('SIGTERM', stop);
    host.onSignal('SIGINT', stop);
  });
}
