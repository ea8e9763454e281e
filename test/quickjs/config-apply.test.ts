// A configuration version applied by the real router bundle under real qjs 2021-03-27 (`run
// --config`), with the real mosquitto clients to the embedded broker and the server's side played
// by an MQTT.js client (test/integration/config/config-rig.ts): the file is written (keeping the
// router's own cloud section for a version without one, no relink), the report
// is built and sent (applying, then applied with the self-test), and a bad rate is refused by path.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configHashOf } from '../../src/core/fleet/config-version.ts';
import type { ConfigSection } from '../../src/core/protocol/messages/config.ts';
import { bundles } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';
import { until } from '../support/wait.ts';
import { startConfigRig, withOption, type ConfigRig } from '../integration/config/config-rig.ts';

describe('configuration versions under QuickJS', () => {
  const dir = makeTempDir('config-qjs');
  let rig: ConfigRig;
  let agent: ChildProcess;
  let agentLog = '';
  const log = () => agentLog.slice(-4000);

  beforeAll(async () => {
    rig = await startConfigRig(dir.path);
    agent = spawn(inject('qjsPath'), ['-m', bundles.agent, 'run', '--config', rig.configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...rig.env } });
    agent.stdout!.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    await until(() => agentLog.includes('resynchronised'), 'the agent connects', 30_000, log);
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
      agent.kill('SIGTERM');
      await exited;
    }
    await rig?.close();
    dir.remove();
  });

  it('writes the version to the config file, with the router\'s own cloud section, and reports it applied with the self-test', async () => {
    const routerCloud = rig.sections().filter((s) => s.type === 'cloud');
    const opensBefore = rig.server.count('open');
    // As the server sends them: no cloud section (the link is the router's own).
    const next = withOption(rig.sections().filter((s) => s.type !== 'cloud'), 'qos', 'ef_budget_percent', '40');
    const id = rig.apply(1, next);
    const report = await rig.finalReport(id, 20_000, log);
    expect(rig.server.reports(id).map((r) => r.state)).toEqual(['applying', 'applied']);
    expect(report).toEqual({ version: 1, hash: configHashOf(next), state: 'applied', selfTest: { table: 'ok', queues: 'ok', counters: 'skipped' } });
    const text = readFileSync(rig.configPath, 'utf8');
    expect(text).toContain("option ef_budget_percent '40'");
    expect(rig.sections()).toEqual([...next, ...routerCloud]);
    // No relink: one `open` again on the same connection, for the server to budget EF at 40%.
    expect(rig.server.count('open')).toBe(opensBefore + 1);
    expect(statSync(join(rig.credentialsDir, 'config-versions', 'v1.uci')).mode & 0o777).toBe(0o600);
    expect(rig.server.count('report.accounting')).toBe(0);
  });

  it('refuses a bad rate by its path and leaves the file as it was', async () => {
    const before = readFileSync(rig.configPath, 'utf8');
    const bad: ConfigSection[] = withOption(rig.sections(), 'qos', 'downlink_kbit', 'lots');
    const id = rig.apply(2, bad);
    const report = await rig.finalReport(id, 20_000, log);
    expect(report.state).toBe('rejected');
    expect(report.problems).toEqual([{ path: 'qos.downlink_kbit', message: expect.stringMatching(/lots/) as unknown as string }]);
    expect(readFileSync(rig.configPath, 'utf8')).toBe(before);
    expect(rig.server.errors).toEqual([]);
  });
});
