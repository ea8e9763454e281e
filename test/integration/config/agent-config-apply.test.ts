// Configuration versions on the real agent (its Node bundle, `run --config`), with its real MQTT
// link (mosquitto_sub/mosquitto_pub) to the embedded broker, and the server's side played by an
// MQTT.js client (config-rig.ts): a version applied (applying, then applied with the self-test; the
// file changed, the server's gate kept), one with a bad rate rejected by path (file unchanged), one
// with a wrong broker port rolled back within linkCheckS (the link back on the old port), and a
// local edit reported as drift; a version without a cloud section written with the router's own
// (no relink), after which drift leaves that section out. nft and tc are stand-ins that answer the self-test's questions.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeAgentBundle } from '../../../scripts/build.mjs';
import { configHashOf } from '../../../src/core/fleet/config-version.ts';
import { sectionsOfFile } from '../../../src/core/fleet/router/config-file.ts';
import type { ConfigSection } from '../../../src/core/protocol/messages/config.ts';
import { repoRoot } from '../../support/bundles.ts';
import { makeTempDir } from '../../support/temp.ts';
import { sleep, until } from '../../support/wait.ts';
import { freePort, startConfigRig, withOption, type ConfigRig } from './config-rig.ts';

const BUNDLE = join(repoRoot, 'dist', 'test', 'config-apply', 'callqos-agent-node.mjs');

describe('configuration versions on the real agent', () => {
  const dir = makeTempDir('config-apply');
  let rig: ConfigRig;
  let configPath = '';
  let credentialsDir = '';
  let server: ConfigRig['server'];
  let agent: ChildProcess;
  let agentLog = '';
  const log = () => agentLog.slice(-4000);

  const sections = (): ConfigSection[] => rig.sections();
  const apply = (version: number, list: ConfigSection[], linkCheckS = 5): string => rig.apply(version, list, linkCheckS);
  const finalReport = (corr: string, ms = 20_000) => rig.finalReport(corr, ms, log);

  const startAgent = () => {
    agentLog = '';
    agent = spawn(process.execPath, [BUNDLE, 'run', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...rig.env },
    });
    agent.stdout!.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
  };
  const killAgent = async (signal: NodeJS.Signals) => {
    if (agent.exitCode !== null || agent.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
    agent.kill(signal);
    await exited;
  };

  beforeAll(async () => {
    rig = await startConfigRig(dir.path);
    ({ configPath, credentialsDir, server } = rig);
    await buildNodeAgentBundle(BUNDLE);
    startAgent();
    await until(() => agentLog.includes('resynchronised'), 'the agent connects and holds the server gate', 30_000, log);
  }, 120_000);

  afterAll(async () => {
    // The agent writes its state until it has stopped: wait for that before removing its directory.
    if (agent) await killAgent('SIGTERM');
    await rig?.close();
    dir.remove();
  });

  it('applies a valid version: applying, then applied with the self-test; the file changed, the gate kept', async () => {
    const next = withOption(sections(), 'qos', 'uplink_kbit', '30000');
    const id = apply(1, next);
    const report = await finalReport(id);
    expect(server.reports(id)[0]).toMatchObject({ version: 1, state: 'applying' });
    expect(report).toEqual({ version: 1, hash: configHashOf(next), state: 'applied', selfTest: { table: 'ok', queues: 'ok', counters: 'skipped' } });
    expect(configHashOf(sections())).toBe(configHashOf(next));
    expect(readFileSync(configPath, 'utf8')).toContain("option uplink_kbit '30000'");
    // The gate the server holds there survived the reload: no usage report ended it.
    expect(server.count('report.accounting')).toBe(0);
    const status = JSON.parse(readFileSync(join(dir.path, 'state', 'status.json'), 'utf8')) as { gates: number };
    expect(status.gates).toBe(1);
    // Kept for rollback and across restarts, private.
    const versions = join(credentialsDir, 'config-versions');
    expect(statSync(join(versions, 'v1.uci')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(versions, 'book.json'), 'utf8'))).toMatchObject({ applied: { version: 1, hash: configHashOf(next) }, good: [{ version: 1 }] });

    // The same version again: applied again, nothing redone.
    const again = apply(1, next);
    expect(await finalReport(again)).toEqual({ version: 1, hash: configHashOf(next), state: 'applied' });
  });

  it('rejects a version with a bad gate rate by its path, and leaves the file as it was', async () => {
    const before = readFileSync(configPath, 'utf8');
    const bad: ConfigSection[] = [...sections(), { type: 'gate', name: null, options: { lan_address: '192.168.1.30', lan_port: '5060', rate_kbit: '0' }, lists: {} }];
    const id = apply(2, bad);
    const report = await finalReport(id);
    expect(report.state).toBe('rejected');
    expect(report.reason).toMatch(/^E_CONFIG: /);
    expect(report.problems?.map((p) => p.path)).toEqual(['gate[0].rate_kbit']);
    expect(server.reports(id).map((r) => r.state)).toEqual(['rejected']);
    expect(readFileSync(configPath, 'utf8')).toBe(before);

    // A hash that is not the sections' own: refused before anything else.
    const good = withOption(sections(), 'qos', 'uplink_kbit', '31000');
    const mismatched = server.send('config.apply', { version: 2, hash: configHashOf(sections()), sections: good, linkCheckS: 5 });
    const refused = await finalReport(mismatched);
    expect(refused.state).toBe('rejected');
    expect(refused.reason).toMatch(/^E_CONFIG: the hash [0-9a-f]{16} is not the hash of these sections/);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
  });

  it('rolls back a version whose broker port is wrong within linkCheckS, back on the old link', async () => {
    const before = readFileSync(configPath, 'utf8');
    const opensBefore = server.count('open');
    const wrong = withOption(sections(), 'cloud', 'port', String(await freePort()));
    const sentAt = Date.now();
    const id = apply(3, wrong, 5);
    const report = await finalReport(id, 30_000);
    expect(report.state).toBe('rolled-back');
    expect(report.reason).toMatch(/^E_LINK: /);
    // The deadline, then the old link's reconnect (a few seconds of client backoff at most).
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(5_000);
    expect(Date.now() - sentAt).toBeLessThan(20_000);
    expect(server.reports(id).map((r) => r.state)).toEqual(['applying', 'rolled-back']);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    // The report came over a new session on the old settings, which the server accepted.
    expect(server.count('open')).toBeGreaterThan(opensBefore);
    expect(JSON.parse(readFileSync(join(credentialsDir, 'config-versions', 'book.json'), 'utf8'))).toMatchObject({ applied: { version: 1 } });
  });

  it('reports a local edit as drift, with the sections as they now are', async () => {
    const edited = readFileSync(configPath, 'utf8').replace("option uplink_kbit '30000'", "option uplink_kbit '25000'");
    writeFileSync(configPath, edited);
    agent.kill('SIGHUP');
    await until(() => server.reports().some((r) => r.state === 'drift'), 'the drift report', 15_000, log);
    const drift = server.reports().find((r) => r.state === 'drift')!;
    const now = sectionsOfFile(edited)!;
    expect(drift).toEqual({ version: 1, hash: configHashOf(now), state: 'drift', sections: now });
    expect(server.received.find((m) => m.type === 'config.report' && m.body.state === 'drift')?.corr).toBeUndefined();
    expect(server.errors).toEqual([]);
  });

  it('goes back to the settings from before when the agent stopped during a link check', async () => {
    const before = readFileSync(configPath, 'utf8');
    const wrong = withOption(sections(), 'cloud', 'port', String(await freePort()));
    const logFrom = agentLog.length;
    const id = apply(4, wrong, 120);
    await until(() => agentLog.slice(logFrom).includes('reconnecting, checking it'), 'the link check starts', 15_000, log);
    expect(readFileSync(configPath, 'utf8')).not.toBe(before);
    await killAgent('SIGKILL');
    startAgent();
    const report = await finalReport(id, 30_000);
    expect(report.state).toBe('rolled-back');
    expect(report.reason).toMatch(/^E_LINK: the agent stopped before the link check ended/);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    expect(readFileSync(join(credentialsDir, 'config-versions', 'book.json'), 'utf8')).toContain('"version":1');
  });

  it('keeps the router\'s own cloud section and link for a version without one; drift then leaves that section out', async () => {
    const routerCloud = sections().filter((x) => x.type === 'cloud');
    expect(routerCloud).toHaveLength(1);
    const opensBefore = server.count('open');
    const logFrom = agentLog.length;
    const next = withOption(sections().filter((x) => x.type !== 'cloud'), 'qos', 'ef_budget_percent', '45');
    const id = apply(5, next);
    const report = await finalReport(id);
    // Reported under the version's own hash; the file is the version and the router's cloud section.
    expect(report).toMatchObject({ version: 5, hash: configHashOf(next), state: 'applied' });
    expect(sections()).toEqual([...next, ...routerCloud]);
    expect(agentLog.slice(logFrom)).not.toContain('reconnecting, checking it');
    // No relink; one `open` on the same connection, so that the server budgets EF at 45%.
    expect(agentLog.slice(logFrom)).not.toContain('cloud link starting');
    expect(server.count('open')).toBe(opensBefore + 1);
    expect(JSON.parse(readFileSync(join(credentialsDir, 'config-versions', 'book.json'), 'utf8'))).toMatchObject({ applied: { version: 5 }, fileHash: configHashOf(next), keepsCloud: true });

    // The router's owner changes its link settings: not the fleet's, no drift.
    const driftsBefore = server.reports().filter((r) => r.state === 'drift').length;
    const converged = () => agentLog.split('data plane converged').length - 1;
    let reloads = converged();
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace("option keepalive_s '30'", "option keepalive_s '45'"));
    agent.kill('SIGHUP');
    await until(() => converged() > reloads, 'the reload', 10_000, log);
    await sleep(500);
    expect(server.reports().filter((r) => r.state === 'drift')).toHaveLength(driftsBefore);

    // A managed option edited: drift, with the sections the fleet manages (no cloud section).
    reloads = converged();
    const edited = readFileSync(configPath, 'utf8').replace("option ef_budget_percent '45'", "option ef_budget_percent '50'");
    writeFileSync(configPath, edited);
    agent.kill('SIGHUP');
    await until(() => server.reports().filter((r) => r.state === 'drift').length > driftsBefore, 'the drift report', 15_000, log);
    const drift = server.reports().filter((r) => r.state === 'drift').at(-1)!;
    const managed = sectionsOfFile(edited)!.filter((x) => x.type !== 'cloud');
    expect(drift).toEqual({ version: 5, hash: configHashOf(managed), state: 'drift', sections: managed });
    expect(server.errors).toEqual([]);
  });
});
