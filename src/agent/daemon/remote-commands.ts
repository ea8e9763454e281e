/**
 * The daemon's answers to the fleet's remote commands (src/core/protocol/messages/fleet.ts),
 * arguments already checked (src/core/fleet/router/command-args.ts):
 *
 *  - status, gates, stats, interfaces: what the rpcd plugin's methods of the same names return;
 *  - reload: the config read again (as SIGHUP does);
 *  - restart: answered first, then the daemon stops so that procd starts it again;
 *  - rotate-credentials: a new broker password kept beside the current one (rotation.ts);
 *  - diagnostics: the rendered ruleset, the kernel's table, `tc -s` of the shaped devices, the
 *    agent's recent log lines and the interface dump, in numbered parts (one per command);
 *  - test-gate: a local gate of the given 5-tuple for some seconds, through the same checks and
 *    the same gate manager as `callqos-agent gate add`.
 */
import type { AgentConfig } from '../../core/config/index.ts';
import { dataplaneSettings } from '../../core/dataplane/settings.ts';
import type { DataplaneGate } from '../../core/dataplane/model.ts';
import { NFT_TABLE } from '../../core/dataplane/model.ts';
import { renderNftBatch } from '../../core/dataplane/render-nft.ts';
import { splitDiagnostics, testDataplaneGate, type DiagnosticsPart, type DiagnosticsSection } from '../../core/fleet/router/command-args.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import type { CommandOutcome, CommandPort } from '../cloud/session.ts';
import { readMethod } from '../commands/rpcd.ts';
import { describeFailure, execute } from '../exec.ts';
import type { CredentialRotation } from '../fleet/rotation.ts';

/** A collection is reused for the parts that follow within this time, so that they fit together. */
export const DIAGNOSTICS_REUSE_MS = 120_000;
const DEVICE_NAME = /^[A-Za-z0-9_.+-]{1,15}$/;

export interface RemoteCommandDeps {
  readonly host: Host;
  readonly log: Logger;
  readonly config: () => AgentConfig;
  readonly reload: () => Promise<Result<void>>;
  /** Adds a local gate through the daemon's serialised gate manager. */
  readonly addLocalGate: (gate: DataplaneGate) => Promise<Result<unknown>>;
  /** Every gate the daemon holds (for the rendered ruleset). */
  readonly liveGates: () => DataplaneGate[];
  /** The devices the daemon shapes, null when it shapes none. */
  readonly shapedDevices: () => { wanDevice: string; lanDevice: string } | null;
  /** The agent's recent log lines, oldest first; null when it keeps none. */
  readonly recentLog: () => readonly string[] | null;
  /** Stops the daemon (procd starts it again). */
  readonly restart: () => void;
  /** Present only for a router with an enrolled login. */
  readonly rotation: CredentialRotation | null;
}

export class RemoteCommands implements CommandPort {
  private collected: { atMs: number; parts: DiagnosticsPart[] } | null = null;
  private testGates = 0;

  constructor(private readonly deps: RemoteCommandDeps) {}

  async run(command: Parameters<CommandPort['run']>[0]): Promise<CommandOutcome> {
    const { host, config } = this.deps;
    switch (command.name) {
      case 'status':
      case 'gates':
      case 'stats':
      case 'interfaces':
        return { result: ok(await readMethod(host, config(), command.name)) };
      case 'reload': {
        const reloaded = await this.deps.reload();
        return { result: reloaded.ok ? ok({ reloaded: true }) : reloaded };
      }
      case 'restart':
        this.deps.log.warn('restarting on the server\'s command');
        return { result: ok({ restarting: true }), after: () => host.timers.setTimeout(() => this.deps.restart(), 200) };
      case 'rotate-credentials': {
        const rotation = this.deps.rotation;
        if (rotation === null) return { result: fail({ code: 'E_UNSUPPORTED', message: 'this router has no enrolled login to rotate (its login is configured by hand)' }) };
        return { result: await rotation.rotate() };
      }
      case 'diagnostics':
        return { result: await this.diagnostics(command.part) };
      case 'test-gate': {
        this.testGates += 1;
        const id = `test-${Math.round(host.clock.wallMs() / 1000)}-${this.testGates}`;
        const gate = testDataplaneGate(id, command.gate);
        const added = await this.deps.addLocalGate(gate);
        return { result: added.ok ? ok({ id, lifetimeS: gate.lifetimeS, gate }) : added };
      }
      default:
        // resync is the session's own (session.ts).
        return { result: fail({ code: 'E_UNSUPPORTED', message: `command ${command.name} is not the daemon's` }) };
    }
  }

  private async diagnostics(part: number): Promise<Result<DiagnosticsPart>> {
    const now = this.deps.host.clock.monotonicMs();
    if (part === 0 || this.collected === null || now - this.collected.atMs > DIAGNOSTICS_REUSE_MS) {
      this.collected = { atMs: now, parts: splitDiagnostics(await this.collect()) };
    }
    const found = this.collected.parts[part];
    if (found === undefined) return fail({ code: 'E_ARG', message: `argument part: there are ${this.collected.parts.length} parts (0..${this.collected.parts.length - 1})`, path: 'part' });
    return ok(found);
  }

  private async output(argv: string[]): Promise<string> {
    const done = await execute(this.deps.host, argv);
    return done.status.code === 0 ? done.stdout.join('\n') + '\n' : `(${describeFailure(argv, done)})\n`;
  }

  private async collect(): Promise<DiagnosticsSection[]> {
    const config = this.deps.config();
    const rendered = renderNftBatch(dataplaneSettings(config), this.deps.liveGates());
    const sections: DiagnosticsSection[] = [
      { name: 'rendered ruleset', text: rendered.ok ? rendered.value : `(cannot render: ${rendered.error.code}: ${rendered.error.message})\n` },
      { name: `nft list table inet ${NFT_TABLE}`, text: await this.output(['nft', 'list', 'table', 'inet', NFT_TABLE]) },
    ];
    const shaped = this.deps.shapedDevices();
    const devices = shaped === null ? [] : [...new Set([shaped.wanDevice, shaped.lanDevice])].filter((d) => DEVICE_NAME.test(d));
    if (devices.length === 0) sections.push({ name: 'tc', text: '(no shaped devices)\n' });
    for (const device of devices) {
      sections.push({ name: `tc -s qdisc show dev ${device}`, text: await this.output(['tc', '-s', 'qdisc', 'show', 'dev', device]) });
      sections.push({ name: `tc -s class show dev ${device}`, text: await this.output(['tc', '-s', 'class', 'show', 'dev', device]) });
    }
    const logLines = this.deps.recentLog();
    sections.push({ name: 'agent log', text: logLines === null ? '(the agent keeps no log lines of its own: see logread)\n' : logLines.length === 0 ? '(no lines yet)\n' : logLines.join('\n') + '\n' });
    sections.push({ name: 'ubus call network.interface dump', text: await this.output(['ubus', '-S', 'call', 'network.interface', 'dump']) });
    return sections;
  }
}

/** The last `size` lines written, for diagnostics. */
export class RecentLines {
  private readonly lines: string[] = [];
  constructor(private readonly size = 200) {}
  push(line: string): void {
    this.lines.push(line.length > 1000 ? `${line.slice(0, 1000)}…` : line);
    if (this.lines.length > this.size) this.lines.shift();
  }
  list(): readonly string[] {
    return [...this.lines];
  }
}
