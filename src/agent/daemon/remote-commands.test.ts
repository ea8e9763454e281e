import { describe, expect, it } from 'vitest';
import { parseAgentConfig, type AgentConfig } from '../../core/config/index.ts';
import type { DataplaneGate } from '../../core/dataplane/model.ts';
import { parseCommandArgs } from '../../core/fleet/router/command-args.ts';
import { createLogger } from '../../core/log.ts';
import { fail, ok } from '../../core/result.ts';
import type { Message } from '../../core/protocol/envelope.ts';
import { gate, memoryFiles, setup } from '../cloud/session.test-support.ts';
import type { CommandPort } from '../cloud/session.ts';
import { FakeHost } from '../system/fake-host.test-support.ts';
import { CredentialRotation } from '../fleet/rotation.ts';
import { RemoteCommands } from './remote-commands.ts';

const quiet = createLogger(() => undefined, 'error');

function agentConfig(): AgentConfig {
  const r = parseAgentConfig(`config agent 'agent'\n\toption state_dir /tmp/st\nconfig qos 'qos'\n\toption uplink_kbit 20000\n\toption downlink_kbit 100000\n\toption wan_device eth0\n\toption lan_device br-lan\n`);
  if (!r.ok) throw new Error(r.error.message);
  return r.value.config;
}

function rig(options: { rotation?: boolean; addRefused?: boolean } = {}) {
  const fake = new FakeHost();
  const files = memoryFiles();
  const random = new Uint8Array(32).map((_, i) => i * 7);
  const host = { ...fake.host, files: { ...files, readBytes: (path: string, n: number) => (path === '/dev/urandom' ? ok(random.slice(0, n)) : files.readBytes(path, n)) } };
  const spawned: string[] = [];
  fake.onSpawn = (child) => {
    spawned.push(child.argv.join(' '));
    if (child.argv[0] === 'mv') {
      const [, , from, to] = child.argv;
      const text = files.readText(from!);
      if (text.ok && files.writeAtomic(to!, text.value).ok && !files.remove(from!).ok) throw new Error('cannot move');
    }
    if (child.argv[0] === 'ubus') child.out('{"interface":[{"interface":"wan","up":true}]}');
    else if (child.argv[0] !== 'mv' && child.argv[0] !== 'chmod') child.out(`output of ${child.argv.join(' ')}`, 'line "two"');
    child.exit(0);
  };
  const put = (path: string, text: string) => {
    if (!files.writeAtomic(path, text).ok) throw new Error(`cannot write ${path}`);
  };
  put('/tmp/st/status.json', JSON.stringify({ version: '0.1.0', gates: 2 }));
  put('/tmp/st/state.json', JSON.stringify({ version: 1, gates: [] }));
  put('/etc/callqos/enrolled-password', 'old-password-0123456789abcdef\n');
  const added: DataplaneGate[] = [];
  let restarted = 0;
  const rotation = options.rotation ? new CredentialRotation(host, quiet, '/etc/callqos') : null;
  const commands = new RemoteCommands({
    host,
    log: quiet,
    config: agentConfig,
    reload: async () => ok(undefined),
    addLocalGate: async (g) => (options.addRefused ? fail({ code: 'E_GATE_CONFLICT', message: 'overlaps' }) : (added.push(g), ok({ replaced: false }))),
    liveGates: () => added,
    shapedDevices: () => ({ wanDevice: 'eth0', lanDevice: 'br-lan' }),
    recentLog: () => ['first line', 'second line'],
    restart: () => (restarted += 1),
    rotation,
  });
  const run = async (name: Parameters<typeof parseCommandArgs>[0], args: Record<string, string> = {}) => {
    const parsed = parseCommandArgs(name, args);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const pending = commands.run(parsed.value as Parameters<CommandPort['run']>[0]);
    await fake.advance(10);
    return pending;
  };
  return { fake, files, run, added, spawned, rotation, restarts: () => restarted };
}

const resultOf = (m: Message | undefined) => (m?.type === 'result' ? m.body : undefined);

describe('remote commands in the cloud session', () => {
  it('answers E_ARG naming the argument, without running anything', async () => {
    let ran = 0;
    const t = setup(new Set(), [], null, { run: async () => (ran++, { result: ok(null) }) });
    await t.fromServer('command', { name: 'test-gate', args: { lanAddress: '192.168.1.20', lanPort: '99999', direction: 'both', seconds: '30' } });
    const body = resultOf(t.sent.at(-1));
    expect(t.sent.at(-1)!.corr).toBe('srv:9:1');
    expect(body).toEqual({ ok: false, error: { code: 'E_ARG', message: 'argument lanPort: must be from 1 to 65535, not 99999' } });
    expect(ran).toBe(0);
  });

  it('answers E_UNSUPPORTED when the daemon gave no commands', async () => {
    const t = setup();
    await t.fromServer('command', { name: 'status', args: {} });
    expect(resultOf(t.sent.at(-1))).toMatchObject({ ok: false, error: { code: 'E_UNSUPPORTED' } });
  });

  it('sends the daemon\'s data, answers a repeated command from memory, and runs the after-work once the answer is out', async () => {
    const events: string[] = [];
    const t = setup(new Set(), [], null, {
      run: async (c) => (events.push(`run ${c.name}`), { result: ok({ answered: c.name }), after: () => events.push(`after, ${t.sent.length} sent`) }),
    });
    const command = await t.fromServer('command', { name: 'restart', args: {} });
    expect(resultOf(t.sent.at(-1))).toEqual({ ok: true, data: { answered: 'restart' } });
    expect(events).toEqual(['run restart', 'after, 1 sent']);
    await t.session.receive('callqos/v1/dev/rtA/down', JSON.stringify(command));
    expect(t.sent).toHaveLength(2);
    expect(t.sent[1]!.id).toBe(t.sent[0]!.id);
    expect(events).toHaveLength(2);
  });

  it('says E_TOO_LARGE when the data does not fit a result', async () => {
    const t = setup(new Set(), [], null, { run: async () => ({ result: ok({ text: 'x'.repeat(70_000) }) }) });
    await t.fromServer('command', { name: 'gates', args: {} });
    expect(resultOf(t.sent.at(-1))).toMatchObject({ ok: false, error: { code: 'E_TOO_LARGE' } });
  });

  it('resync asks the server for the desired gates', async () => {
    const t = setup(new Set(), [gate('g1', 4000)]);
    t.session.started();
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.at(-1)!.id);
    await t.fromServer('sync.complete', { version: 0, part: { index: 0, count: 1 }, gates: [gate('g1', 4000)] }, t.sent.find((m) => m.type === 'sync.request')!.id);
    const before = t.sent.filter((m) => m.type === 'sync.request').length;
    await t.fromServer('command', { name: 'resync', args: {} });
    expect(t.sent.filter((m) => m.type === 'sync.request').length).toBe(before + 1);
    expect(resultOf(t.sent.at(-1))).toEqual({ ok: true, data: { requested: true, alreadyUnderWay: false } });
  });
});

describe('the daemon\'s remote commands', () => {
  it('status and gates return what the rpcd methods read', async () => {
    const r = rig();
    expect(await r.run('status')).toMatchObject({ result: { ok: true, value: { version: '0.1.0', gates: 2 } } });
    expect(await r.run('gates')).toEqual({ result: { ok: true, value: { gates: [] } } });
  });

  it('test-gate adds a local gate with the lifetime asked for, checked as gate_add checks it', async () => {
    const r = rig();
    const done = await r.run('test-gate', { lanAddress: '192.168.1.20', lanPort: '4000', direction: 'up', seconds: '45' });
    expect(done.result.ok).toBe(true);
    expect(r.added).toHaveLength(1);
    expect(r.added[0]).toMatchObject({ direction: 'up', lan: { address: '192.168.1.20', port: 4000 }, remote: { address: null, port: null }, dscp: 46, lifetimeS: 45 });
    expect(r.added[0]!.id).toMatch(/^test-\d+-1$/);
  });

  it('test-gate passes the gate manager\'s refusal on', async () => {
    const r = rig({ addRefused: true });
    expect((await r.run('test-gate', { lanAddress: '192.168.1.20', lanPort: '4000', direction: 'up', seconds: '45' })).result).toMatchObject({ ok: false, error: { code: 'E_GATE_CONFLICT' } });
  });

  it('restart answers, and stops the daemon only when the after-work runs', async () => {
    const r = rig();
    const done = await r.run('restart');
    expect(done.result).toEqual({ ok: true, value: { restarting: true } });
    expect(r.restarts()).toBe(0);
    done.after!();
    await r.fake.advance(500);
    expect(r.restarts()).toBe(1);
  });

  it('diagnostics: every section in numbered parts, the same collection for the parts that follow', async () => {
    const r = rig();
    const first = await r.run('diagnostics');
    if (!first.result.ok) throw new Error('refused');
    const part0 = first.result.value as { part: number; parts: number; name: string; text: string };
    expect(part0).toMatchObject({ part: 0, name: 'rendered ruleset' });
    const names = [part0.name];
    const texts = [part0.text];
    for (let i = 1; i < part0.parts; i++) {
      const next = await r.run('diagnostics', { part: String(i) });
      const value = (next.result as { value: { name: string; text: string; parts: number } }).value;
      expect(value.parts).toBe(part0.parts);
      names.push(value.name);
      texts.push(value.text);
    }
    expect(names).toEqual([
      'rendered ruleset', 'nft list table inet callqos', 'tc -s qdisc show dev eth0', 'tc -s class show dev eth0',
      'tc -s qdisc show dev br-lan', 'tc -s class show dev br-lan', 'agent log', 'ubus call network.interface dump',
    ]);
    expect(texts[1]).toContain('output of nft list table inet callqos');
    expect(texts[6]).toBe('first line\nsecond line\n');
    expect(texts[7]).toContain('"interface"');
    expect(r.spawned.filter((a) => a.startsWith('nft list'))).toHaveLength(1);
    expect((await r.run('diagnostics', { part: String(part0.parts) })).result).toMatchObject({ ok: false, error: { code: 'E_ARG', path: 'part' } });
  });

  it('rotate-credentials: refused without an enrolled login', async () => {
    expect((await rig().run('rotate-credentials')).result).toMatchObject({ ok: false, error: { code: 'E_UNSUPPORTED' } });
  });

  it('rotate-credentials: the new password is offered, and current only once the broker took it', async () => {
    const r = rig({ rotation: true });
    const done = await r.run('rotate-credentials');
    if (!done.result.ok) throw new Error(done.result.error.message);
    const password = (done.result.value as { password: string }).password;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const rotation = r.rotation!;
    expect(rotation.passwordFile()).toBe('/etc/callqos/rotating-password');
    // Refused (the server has not set it yet): the old one next, then the new one again.
    rotation.connected(false, rotation.passwordFile());
    expect(rotation.passwordFile()).toBe('/etc/callqos/enrolled-password');
    rotation.connected(false, rotation.passwordFile());
    expect(rotation.passwordFile()).toBe('/etc/callqos/rotating-password');
    rotation.connected(true, rotation.passwordFile());
    // A client started before the rotation reconnects with the old password and is refused: no effect on the choice.
    rotation.connected(false, '/etc/callqos/enrolled-password');
    await r.fake.advance(10);
    expect(r.files.readText('/etc/callqos/enrolled-password')).toEqual({ ok: true, value: `${password}\n` });
    expect(r.files.exists('/etc/callqos/rotating-password')).toBe(false);
    expect(rotation.passwordFile()).toBe('/etc/callqos/enrolled-password');
  });

  it('rotate-credentials: the old password keeps working when the broker never took the new one', async () => {
    const r = rig({ rotation: true });
    await r.run('rotate-credentials');
    const rotation = r.rotation!;
    rotation.connected(false, rotation.passwordFile());
    rotation.connected(true, rotation.passwordFile());
    expect(r.files.readText('/etc/callqos/enrolled-password')).toEqual({ ok: true, value: 'old-password-0123456789abcdef\n' });
    // Offered first at the next connect (the broker may be about to take it) ...
    expect(rotation.passwordFile()).toBe('/etc/callqos/rotating-password');
    rotation.connected(false, rotation.passwordFile());
    // ... and dropped once the window has passed with the old one working.
    await r.fake.advance(11 * 60_000);
    rotation.connected(true, rotation.passwordFile());
    expect(r.files.exists('/etc/callqos/rotating-password')).toBe(false);
    expect(rotation.passwordFile()).toBe('/etc/callqos/enrolled-password');
  });
});
