import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeHost, type FakeChild } from './fake-host.test-support.ts';
import { readBoard, readInterfaces, ubusCall } from './ubus.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/ubus/${name}`, import.meta.url), 'utf8');

let fake: FakeHost;
beforeEach(() => {
  fake = new FakeHost();
});

/** Every child answers with these lines on stdout and stderr, then exits. */
function answer(stdout: string[], code = 0, stderr: string[] = []): void {
  fake.onSpawn = (child: FakeChild) =>
    queueMicrotask(() => {
      child.out(...stdout);
      child.err(...stderr);
      child.exit(code);
    });
}

describe('ubusCall', () => {
  it('runs ubus -S call with the object, the method and the JSON argument as argv', async () => {
    answer(['{"up":true}']);
    expect(await ubusCall(fake.host, 'network.interface.wan', 'status')).toEqual({ ok: true, value: { up: true } });
    expect(await ubusCall(fake.host, 'network.device', 'status', { name: 'eth0 ; reboot' })).toEqual({ ok: true, value: { up: true } });
    expect(fake.children.map((c) => c.argv)).toEqual([
      ['ubus', '-S', 'call', 'network.interface.wan', 'status', '{}'],
      ['ubus', '-S', 'call', 'network.device', 'status', '{"name":"eth0 ; reboot"}'],
    ]);
  });

  it('joins a reply printed over several lines (ubus without -S indents)', async () => {
    answer(fixture('board.json').trimEnd().split('\n'));
    const r = await ubusCall(fake.host, 'system', 'board');
    expect(r.ok && (r.value as { hostname: string }).hostname).toBe('OpenWrt');
  });

  it('gives null for a method that replies nothing', async () => {
    answer([]);
    expect(await ubusCall(fake.host, 'network', 'reload')).toEqual({ ok: true, value: null });
  });

  it.each([
    ['-s', 'dump', 'not a valid object name'],
    ['network interface', 'dump', 'not a valid object name'],
    ['', 'dump', 'not a valid object name'],
    ['network.interface', '-t1', 'not a valid method name'],
    ['network.interface', 'du mp', 'not a valid method name'],
  ])('refuses object %j method %j without running anything', async (object, method, message) => {
    const r = await ubusCall(fake.host, object, method);
    expect(r).toMatchObject({ ok: false, error: { code: 'E_UBUS_ARG' } });
    expect(!r.ok && r.error.message).toContain(message);
    expect(fake.children).toEqual([]);
  });

  it.each([
    [4, [], 'ubus call network.interface.nope status: exit 4 (Not found)'],
    [255, ['Failed to connect to ubus'], 'ubus call network.interface.nope status: exit 255 (cannot connect to ubusd): Failed to connect to ubus'],
    [127, [], 'ubus call network.interface.nope status: exit 127 (no ubus program)'],
    [7, [], 'ubus call network.interface.nope status: exit 7 (Request timed out)'],
    [99, [], 'ubus call network.interface.nope status: exit 99'],
  ])('reports exit %i as E_UBUS_EXIT with the code and the stderr line', async (code, stderr, message) => {
    answer(['ignored'], code, stderr);
    const r = await ubusCall(fake.host, 'network.interface.nope', 'status');
    expect(r).toEqual({ ok: false, error: { code: 'E_UBUS_EXIT', message, path: '', exitCode: code, signal: null, stderr: stderr[0] ?? '' } });
  });

  it('reports a child killed by a signal', async () => {
    fake.onSpawn = (child) => queueMicrotask(() => child.exit(null, 'SIGSEGV'));
    expect(await ubusCall(fake.host, 'system', 'board')).toMatchObject({ ok: false, error: { code: 'E_UBUS_EXIT', signal: 'SIGSEGV', message: 'ubus call system board: killed by SIGSEGV' } });
  });

  it('kills a hanging ubus after the timeout and settles without waiting for it to die', async () => {
    let result: unknown = null;
    const call = ubusCall(fake.host, 'network.interface', 'dump', {}, { timeoutMs: 2_000 }).then((r) => (result = r));
    await fake.advance(1_999);
    expect(result).toBeNull();
    await fake.advance(1);
    await call;
    expect(result).toEqual({ ok: false, error: { code: 'E_UBUS_TIMEOUT', message: 'ubus call network.interface dump: no answer within 2000 ms', path: '' } });
    expect(fake.children[0]?.killedWith).toEqual(['SIGKILL']);
  });

  it('clears its timer when ubus answers', async () => {
    answer(['{}']);
    expect(await ubusCall(fake.host, 'system', 'board')).toEqual({ ok: true, value: {} });
    expect(fake.pendingTimers).toBe(0);
  });

  it.each([
    ['garbage', ['Command failed: Not found']],
    ['a cut-off dump', [fixture('garbage.txt').trimEnd()]],
    ['JSON only QuickJS would accept', ['{"a":"\\x41"}']],
  ])('reports %s as E_UBUS_JSON', async (_what, lines) => {
    answer(lines);
    const r = await ubusCall(fake.host, 'network.interface', 'dump');
    expect(r).toMatchObject({ ok: false, error: { code: 'E_UBUS_JSON' } });
    expect(!r.ok && r.error.message).toMatch(/^ubus call network\.interface dump: not JSON/);
  });

  it('reports a line too long for the host as E_UBUS_JSON', async () => {
    fake.onSpawn = (child) => queueMicrotask(() => child.exit(0));
    const pending = ubusCall(fake.host, 'network.interface', 'dump');
    // The host drops an over-long line and says so through onOverflow; the fake cannot, so send a huge one.
    fake.children[0]?.out('x'.repeat(5 * 1024 * 1024));
    expect(await pending).toMatchObject({ ok: false, error: { code: 'E_UBUS_JSON' } });
  });
});

describe('readInterfaces and readBoard', () => {
  it('parse what ubus prints', async () => {
    answer([fixture('dump-pppoe.json').trimEnd()]);
    const dump = await readInterfaces(fake.host);
    expect(dump.ok && dump.value.interfaces.map((i) => i.name)).toEqual(['lan', 'loopback', 'wan', 'wan_6']);
    answer(fixture('board.json').split('\n'));
    expect(await readBoard(fake.host)).toMatchObject({ ok: true, value: { model: 'D-Link COVR-X1860 A1', boardName: 'dlink,covr-x1860-a1' } });
  });

  it('give E_UBUS_SHAPE with the path for JSON of the wrong shape', async () => {
    answer(fixture('dump-bad-shape.json').split('\n'));
    expect(await readInterfaces(fake.host)).toMatchObject({ ok: false, error: { code: 'E_UBUS_SHAPE', path: 'interface[0]["ipv4-address"][0].mask' } });
  });
});
