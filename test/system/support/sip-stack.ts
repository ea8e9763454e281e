/**
 * The cloud for SIP system tests, on top of the control-plane rig (Mosquitto, the QoS control
 * server, two routers' agents under qjs): the server with authorization required, the
 * clearinghouse with its own key and store, and a SIP proxy in the cloud namespace on
 * CLOUD_ADDRESS:5060; sipp phones started on demand; the clearinghouse's CDRs read from its store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateSigningKey } from '../../../src/cloud/clearinghouse/keys.ts';
import { repoRoot } from '../../support/bundles.ts';
import { CloudRig, MQTT_PORT, start, stop, waitFor, type Running } from './cloud-rig.ts';
import type { Namespace } from './netns.ts';

export const SIPP_SCENARIOS = join(repoRoot, 'test/system/fixtures/sipp');

export interface ProxyUnderTest {
  /** For titles and the figures printed. */
  readonly name: string;
  /** Programs needed besides the stack's own. */
  readonly tools: readonly string[];
  /** Starts the proxy in the cloud namespace on CLOUD_ADDRESS:5060, the rig running; resolves once it takes calls. */
  start(stack: SipStack): Promise<Running>;
  /** What the proxy logs once it had the session API's answer for a call. */
  readonly answeredLog: string;
}

export const SIP_STACK_TOOLS = ['ip', 'nft', 'python3', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'curl', 'sipp'] as const;

export interface Sipp extends Running {
  readonly exit: Promise<number | null>;
}

export class SipStack {
  readonly rig = new CloudRig({ uplinkKbit: 20_000, downlinkKbit: 100_000 });
  /** The clearinghouse's key, policy and store: made before the server starts, which loads the public keys. */
  readonly dir = mkdtempSync(join(tmpdir(), 'callqos-sip-'));
  clearinghouse: Running | undefined;
  proxy: Running | undefined;
  private readonly phones: Sipp[] = [];

  get bundle(): string {
    return join(repoRoot, 'dist', 'test', 'callqos-cloud.mjs');
  }

  get broker(): string {
    return `mqtt://127.0.0.1:${MQTT_PORT}`;
  }

  get chDb(): string {
    return join(this.dir, 'clearinghouse.db');
  }

  async start(proxy: ProxyUnderTest, serverArgs: string[] = []): Promise<void> {
    const key = join(this.dir, 'ch.pem');
    generateSigningKey('ch-1', key, join(this.dir, 'ch-keys.json'));
    writeFileSync(join(this.dir, 'ch-policy.json'), JSON.stringify({ domains: [{ id: 'domain-a', clients: ['qos-server-1'] }] }));
    await this.rig.start(['--authorization', 'required', '--domain', 'domain-a', '--clearinghouse-keys', join(this.dir, 'ch-keys.json'), ...serverArgs]);
    this.clearinghouse = start(this.rig.lab.cloud, [process.execPath, this.bundle, 'clearinghouse', 'run', '--id', 'ch-1', '--key', key, '--policy', join(this.dir, 'ch-policy.json'), '--broker', this.broker, '--store', `sqlite:${this.chDb}`]);
    await waitFor(this.clearinghouse, 'clearinghouse running');
    this.proxy = await proxy.start(this);
  }

  /** A sipp phone in `ns`; its exit code resolves `exit`. */
  sipp(ns: Namespace, args: string[]): Sipp {
    const running = start(ns, ['sipp', ...args, '-nostdin']);
    const phone: Sipp = Object.assign(running, { exit: new Promise<number | null>((resolve) => running.child.on('close', resolve)) });
    this.phones.push(phone);
    return phone;
  }

  cdrs(callId: string): Record<string, unknown>[] {
    const db = new Database(this.chDb, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT * FROM ch_cdrs WHERE call_id = ? ORDER BY side').all(callId) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }

  async stop(): Promise<void> {
    for (const phone of this.phones) await stop(phone, 'SIGKILL');
    await stop(this.proxy);
    await stop(this.clearinghouse);
    await this.rig.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
