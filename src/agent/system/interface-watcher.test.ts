import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import type { InterfacesBody } from '../../core/protocol/messages/interfaces.ts';
import type { CoreError } from '../../core/result.ts';
import type { InterfaceEvent } from '../../core/ubus/index.ts';
import { FakeHost, type FakeChild } from './fake-host.test-support.ts';
import { InterfaceWatcher } from './interface-watcher.ts';
import { followInterfaceEvents } from './ubus-listen.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/ubus/${name}`, import.meta.url), 'utf8');
const event = (action: string, name: string) => `{ "network.interface": {"action":"${action}","interface":"${name}"} }`;
const ROLES = { wan: ['wan', 'wan6'], lan: ['lan', 'guest'] };

let fake: FakeHost;
/** The dump fixture `ubus call network.interface dump` answers with right now. */
let dump: string;
let listeners: FakeChild[];

beforeEach(() => {
  fake = new FakeHost();
  dump = 'dump-dual-stack.json';
  listeners = [];
  fake.onSpawn = (child) => {
    if (child.argv[1] === 'listen') listeners.push(child);
    else queueMicrotask(() => {
      child.out(fixture(dump).trimEnd());
      child.exit(0);
    });
  };
});

const dumpCalls = () => fake.children.filter((c) => c.argv.join(' ') === 'ubus -S call network.interface dump {}').length;

describe('followInterfaceEvents', () => {
  it('runs ubus listen network.interface and delivers its interface events', async () => {
    const events: InterfaceEvent[] = [];
    const bad: string[] = [];
    followInterfaceEvents(fake.host, (e) => events.push(e), { onBadLine: (_line, error) => bad.push(error.code) });
    expect(listeners[0]?.argv).toEqual(['ubus', 'listen', 'network.interface']);
    listeners[0]?.out(event('ifup', 'wan'), '{ "network.wireless": {} }', 'garbage', event('ifdown', 'wan6'));
    expect(events).toEqual([{ action: 'ifup', interface: 'wan' }, { action: 'ifdown', interface: 'wan6' }]);
    expect(bad).toEqual(['E_UBUS_JSON']);
  });

  it('restarts after 1 s doubling to 30 s, with ±20 % jitter', async () => {
    for (const [random, factor] of [[0.5, 1], [0, 0.8], [0.999999, 1.2]] as const) {
      fake = new FakeHost();
      listeners = [];
      fake.onSpawn = (child) => listeners.push(child);
      const delays: number[] = [];
      followInterfaceEvents(fake.host, () => {}, { random: () => random, onExit: (_status, ms) => delays.push(ms) });
      for (let run = 0; run < 8; run++) {
        listeners[run]?.exit(1);
        await fake.settle();
        await fake.advance((delays[run] ?? 0) - 1);
        expect(listeners).toHaveLength(run + 1);
        await fake.advance(1);
        expect(listeners).toHaveLength(run + 2);
      }
      expect(delays).toEqual([1, 2, 4, 8, 16, 30, 30, 30].map((s) => Math.round(s * 1000 * factor)));
    }
  });

  it('is back at 1 s after a run that lasted a minute', async () => {
    const delays: number[] = [];
    followInterfaceEvents(fake.host, () => {}, { random: () => 0.5, onExit: (_status, ms) => delays.push(ms) });
    for (let run = 0; run < 4; run++) {
      listeners[run]?.exit(0);
      await fake.settle();
      await fake.advance(delays[run] ?? 0);
    }
    await fake.advance(60_000);
    listeners[4]?.exit(0);
    await fake.settle();
    expect(delays).toEqual([1000, 2000, 4000, 8000, 1000]);
  });

  it('stop kills ubus listen, starts it no more and delivers nothing after', async () => {
    const events: InterfaceEvent[] = [];
    const follower = followInterfaceEvents(fake.host, (e) => events.push(e));
    const first = listeners[0];
    follower.stop();
    expect(first?.killedWith).toEqual(['SIGTERM']);
    first?.out(event('ifup', 'wan'));
    first?.exit(null, 'SIGTERM');
    await fake.advance(120_000);
    expect(events).toEqual([]);
    expect(listeners).toHaveLength(1);
  });
});

describe('InterfaceWatcher', () => {
  let reports: InterfacesBody[];
  let errors: CoreError[];
  let watcher: InterfaceWatcher;

  beforeEach(() => {
    reports = [];
    errors = [];
    watcher = new InterfaceWatcher(fake.host, { roles: ROLES, onChange: (r) => reports.push(r), onError: (e) => errors.push(e), follow: { random: () => 0.5 } });
  });

  it('reports at start, with version 1', async () => {
    watcher.start();
    await fake.settle();
    expect(reports.map((r) => [r.version, r.interfaces.length])).toEqual([[1, 4]]);
    expect(watcher.report).toBe(reports[0]);
  });

  it('reads once per burst of relevant events and reports only a real change', async () => {
    watcher.start();
    await fake.settle();
    listeners[0]?.out(event('ifup', 'lan'));
    await fake.advance(200);
    expect(dumpCalls()).toBe(2);
    expect(reports).toHaveLength(1); // read again, nothing changed

    dump = 'dump-wan-down.json';
    listeners[0]?.out(event('ifdown', 'wan'));
    await fake.advance(50);
    listeners[0]?.out(event('ifdown', 'wan6'));
    await fake.advance(199);
    expect(dumpCalls()).toBe(3);
    expect(reports.map((r) => r.version)).toEqual([1, 2]);
    expect(reports[1]?.interfaces[0]).toMatchObject({ name: 'wan', up: false, device: null });
  });

  it('does not read for an event about an interface without a role', async () => {
    watcher.start();
    await fake.settle();
    listeners[0]?.out(event('ifup', 'loopback'), event('ifdown', 'vpn'));
    await fake.advance(1_000);
    expect(dumpCalls()).toBe(1);
  });

  it('reads every minute, so a change without an event is noticed', async () => {
    watcher.start();
    await fake.settle();
    dump = 'dump-wan-down.json';
    await fake.advance(59_999);
    expect(reports).toHaveLength(1);
    await fake.advance(1);
    expect(reports).toHaveLength(2);
    await fake.advance(120_000);
    expect(dumpCalls()).toBe(4);
    expect(reports).toHaveLength(2);
  });

  it('reads again when ubus listen restarts, since events may have been missed', async () => {
    watcher.start();
    await fake.settle();
    dump = 'dump-wan-down.json';
    listeners[0]?.exit(0);
    await fake.advance(1_000);
    expect(listeners).toHaveLength(2);
    await fake.advance(200);
    expect(reports.map((r) => r.version)).toEqual([1, 2]);
  });

  it('keeps the last report when a read fails, and reports the error', async () => {
    watcher.start();
    await fake.settle();
    dump = 'garbage.txt';
    watcher.refresh();
    await fake.advance(200);
    expect(errors.map((e) => e.code)).toEqual(['E_UBUS_JSON']);
    expect(watcher.report?.version).toBe(1);
    dump = 'dump-bad-shape.json';
    watcher.refresh();
    await fake.advance(200);
    expect(errors.map((e) => e.code)).toEqual(['E_UBUS_JSON', 'E_UBUS_SHAPE']);
    dump = 'dump-wan-down.json';
    watcher.refresh();
    await fake.advance(200);
    expect(reports.map((r) => r.version)).toEqual([1, 2]);
  });

  it('reads once more when asked during a read', async () => {
    let held: FakeChild | undefined;
    fake.onSpawn = (child) => {
      if (child.argv[1] === 'listen') listeners.push(child);
      else held = child;
    };
    watcher.start();
    watcher.refresh();
    await fake.advance(200);
    expect(dumpCalls()).toBe(1); // the first read is still waiting for ubus
    held?.out(fixture('dump-dual-stack.json').trimEnd());
    held?.exit(0);
    await fake.settle();
    expect(reports).toHaveLength(1);
    await fake.advance(200);
    expect(dumpCalls()).toBe(2);
  });

  it('stops reading and following on stop()', async () => {
    watcher.start();
    await fake.settle();
    watcher.stop();
    expect(listeners[0]?.killedWith).toEqual(['SIGTERM']);
    listeners[0]?.out(event('ifdown', 'wan'));
    listeners[0]?.exit(null, 'SIGTERM');
    await fake.advance(600_000);
    expect(dumpCalls()).toBe(1);
    expect(fake.pendingTimers).toBe(0);
  });
});
