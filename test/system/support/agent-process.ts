/** The real agent bundle running as a daemon under real qjs inside a lab namespace. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { bundles, repoRoot } from '../../support/bundles.ts';
import type { Namespace } from './netns.ts';

export class AgentProcess {
  private child: ChildProcess | null = null;
  log = '';

  constructor(
    private readonly qjs: string,
    private readonly ns: Namespace,
    readonly configPath: string,
  ) {}

  /** Writes a config: the lab's, with the state directory and any extra lines given. */
  static writeConfig(path: string, stateDir: string, extra = ''): void {
    const lab = readFileSync(`${repoRoot}/test/system/fixtures/lab.uci`, 'utf8');
    writeFileSync(path, lab.replace("option device_id 'lab-router'", `option device_id 'lab-router'\n\toption state_dir '${stateDir}'`) + extra);
  }

  start(): void {
    const child = spawn('ip', ['netns', 'exec', this.ns.name, this.qjs, bundles.agent, 'run', '--config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
  }

  /** Resolves when the log shows the line, or rejects with the log after the time. */
  async waitForLog(text: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.log.includes(text)) {
      if (Date.now() > deadline) throw new Error(`agent did not log "${text}" within ${ms} ms:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      // `ip netns exec` execs qjs, so the pid is the agent's.
      child.kill(signal);
    });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `callqos-agent rpcd call <method>` with JSON arguments on stdin, as rpcd runs the plugin. */
  rpcd(method: string, input: unknown = {}): Promise<Record<string, unknown>> {
    const child = spawn('ip', ['netns', 'exec', this.ns.name, this.qjs, bundles.agent, 'rpcd', 'call', method, '--config', this.configPath], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin.end(JSON.stringify(input));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise((resolve, reject) => {
      child.on('exit', () => {
        try {
          resolve(JSON.parse(out) as Record<string, unknown>);
        } catch {
          reject(new Error(`rpcd call ${method}: no JSON answer: ${out}`));
        }
      });
    });
  }

  /**
   * `callqos-agent gate …` run as a separate process, as an operator would: the parsed JSON answer.
   * Asynchronous, so that this process goes on reading the agent's log meanwhile (a full stderr
   * pipe would block the agent).
   */
  gate(...args: string[]): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string; path?: string } }> {
    const child = spawn(this.qjs, [bundles.agent, 'gate', ...args, '--config', this.configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise((resolve, reject) => {
      child.on('exit', () => {
        try {
          resolve(JSON.parse(out) as { ok: boolean });
        } catch {
          reject(new Error(`gate ${args.join(' ')}: no JSON answer: ${out}`));
        }
      });
    });
  }
}
