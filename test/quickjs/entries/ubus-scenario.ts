/**
 * The ubus bindings against the fake `ubus` (test/fixtures/ubus/bin/ubus), as one list of cases
 * that runs in-process under Node (test/integration/ubus.test.ts) and bundled under real qjs
 * (test/quickjs/ubus.test.ts, through ./ubus.ts). No Node modules here.
 */
import type { Host } from '../../../src/core/host/index.ts';
import type { InterfacesBody } from '../../../src/core/protocol/messages/interfaces.ts';
import { buildInterfaceReport, type InterfaceEvent } from '../../../src/core/ubus/index.ts';
import { followInterfaceEvents, InterfaceWatcher, readBoard, readInterfaces, ubusCall } from '../../../src/agent/system/index.ts';
import { check, checkEqual, sleep } from '../../contract/check.ts';

export interface UbusContext {
  readonly host: Host;
  /** test/fixtures/ubus, absolute. */
  readonly fixtures: string;
  /** The fake's state directory, CALLQOS_FAKE_UBUS of the fake's environment. */
  readonly state: string;
}

export interface UbusCase {
  readonly name: string;
  run(context: UbusContext): Promise<void>;
}

const HOME = { wan: ['wan', 'wan6'], lan: ['lan', 'guest'] };

/** Chooses the fake's answers and forgets what it recorded. */
function setFake({ host, state }: UbusContext, choice: { dump?: string; board?: string; listen?: string }): void {
  for (const name of ['calls.log', 'listen.count']) checkEqual(host.files.remove(`${state}/${name}`).ok, true, `forget ${name}`);
  checkEqual(host.files.writeAtomic(`${state}/dump`, `${choice.dump ?? 'dump-dual-stack.json'}\n`).ok, true, 'choose the dump');
  checkEqual(host.files.writeAtomic(`${state}/board`, `${choice.board ?? 'board.json'}\n`).ok, true, 'choose the board');
  checkEqual(host.files.writeAtomic(`${state}/listen`, `${choice.listen ?? 'none'}\n`).ok, true, 'choose the events');
}

function readState({ host, state }: UbusContext, name: string): string {
  const r = host.files.readText(`${state}/${name}`);
  return r.ok ? r.value : '';
}

const dumpCalls = (context: UbusContext) => readState(context, 'calls.log').split('\n').filter((l) => l === '-S call network.interface dump {}').length;

function expectedReport({ host, fixtures }: UbusContext, name: string, version: number): string {
  const r = host.files.readText(`${fixtures}/${name}`);
  check(r.ok, `fixture ${name} readable`);
  return JSON.stringify({ ...(JSON.parse(r.value) as InterfacesBody), version });
}

async function waitFor(host: Host, condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = host.clock.monotonicMs() + ms;
  while (!condition()) {
    check(host.clock.monotonicMs() < deadline, `${what}: not within ${ms} ms`);
    await sleep(host.timers, 20);
  }
}

export const ubusCases: UbusCase[] = [
  {
    name: 'reads the interface report of a dual-stack and of a PPPoE router, and the board',
    async run(context) {
      const { host } = context;
      for (const [dump, report, roles] of [
        ['dump-dual-stack.json', 'report-dual-stack.json', HOME],
        ['dump-pppoe.json', 'report-pppoe.json', { wan: ['wan'], lan: ['lan'] }],
      ] as const) {
        setFake(context, { dump });
        const read = await readInterfaces(host);
        check(read.ok, `read ${dump}: ${JSON.stringify(read)}`);
        const built = buildInterfaceReport(read.value, roles, 1);
        check(built.ok, `report of ${dump}: ${JSON.stringify(built)}`);
        checkEqual(JSON.stringify(built.value), expectedReport(context, report, 1), `report of ${dump}`);
        checkEqual(readState(context, 'calls.log'), '-S call network.interface dump {}\n', 'argv given to ubus');
      }
      const board = await readBoard(host);
      check(board.ok, `board: ${JSON.stringify(board)}`);
      checkEqual([board.value.hostname, board.value.model, board.value.release?.version], ['OpenWrt', 'D-Link COVR-X1860 A1', '23.05-SNAPSHOT'], 'board');
    },
  },
  {
    name: 'watcher: reports at start, after a change an event announced, not when nothing changed, across a listen restart',
    async run(context) {
      const { host } = context;
      setFake(context, { listen: 'wan-bounce' });
      const reports: InterfacesBody[] = [];
      const errors: string[] = [];
      const watcher = new InterfaceWatcher(host, {
        roles: HOME,
        pollMs: 600_000,
        onChange: (r) => reports.push(r),
        onError: (e) => errors.push(e.message),
      });
      watcher.start();
      try {
        // Run 1: ifup lan (no change), then wan and wan6 down; it exits, run 2 brings them back.
        await waitFor(host, () => reports.length >= 3, 20_000, 'three reports');
        await sleep(host.timers, 800);
      } finally {
        watcher.stop();
      }
      checkEqual(errors, [], 'errors');
      checkEqual(reports.map((r) => r.version), [1, 2, 3], 'report versions');
      checkEqual(JSON.stringify(reports[0]), expectedReport(context, 'report-dual-stack.json', 1), 'first report');
      checkEqual(JSON.stringify(reports[1]), expectedReport(context, 'report-wan-down.json', 2), 'report after ifdown');
      checkEqual(JSON.stringify(reports[2]), expectedReport(context, 'report-dual-stack.json', 3), 'report after ifup');
      check(Number(readState(context, 'listen.count')) >= 2, 'ubus listen was started again after it exited');
      // At start, after ifup lan, after ifdown, at the restart, after ifup: five reads, three changes.
      check(dumpCalls(context) >= 5, `dump read ${dumpCalls(context)} times`);
    },
  },
  {
    name: 'watcher: the periodic read notices a change no event announced',
    async run(context) {
      const { host } = context;
      setFake(context, {});
      const reports: InterfacesBody[] = [];
      const watcher = new InterfaceWatcher(host, { roles: HOME, pollMs: 300, onChange: (r) => reports.push(r) });
      watcher.start();
      try {
        await waitFor(host, () => reports.length === 1, 15_000, 'first report');
        await sleep(host.timers, 700);
        checkEqual(reports.length, 1, 'reports while nothing changed');
        checkEqual(host.files.writeAtomic(`${context.state}/dump`, 'dump-wan-down.json\n').ok, true, 'change the dump');
        await waitFor(host, () => reports.length === 2, 15_000, 'report after the change');
      } finally {
        watcher.stop();
      }
      checkEqual(reports[1]?.interfaces.map((i) => i.up), [false, false, true, true], 'up flags after the change');
    },
  },
  {
    name: 'follower: restarts ubus listen after it exits, after about a second',
    async run(context) {
      const { host } = context;
      setFake(context, { listen: 'wan-bounce' });
      const events: InterfaceEvent[] = [];
      const starts: number[] = [];
      const delays: number[] = [];
      const follower = followInterfaceEvents(host, (e) => events.push(e), {
        onStart: () => starts.push(host.clock.monotonicMs()),
        onExit: (status, ms) => delays.push(status.code ?? -1, ms),
      });
      try {
        await waitFor(host, () => events.length >= 6, 15_000, 'events of both runs');
      } finally {
        follower.stop();
      }
      checkEqual(events.map((e) => `${e.action} ${e.interface}`), ['ifup lan', 'ifup loopback', 'ifdown wan', 'ifdown wan6', 'ifup wan', 'ifup wan6'], 'events');
      check(starts.length >= 2, 'started twice');
      checkEqual(delays[0], 0, 'exit code of the first run');
      const delay = delays[1] ?? 0;
      check(delay >= 800 && delay <= 1200, `first restart delay ${delay} ms`);
      const gap = (starts[1] ?? 0) - (starts[0] ?? 0);
      check(gap >= 1_200 + 700, `second run started ${gap} ms after the first`); // its script takes 1.2 s
    },
  },
  {
    name: 'kills a hanging ubus after the timeout',
    async run(context) {
      const { host } = context;
      setFake(context, { dump: 'hang' });
      const started = host.clock.monotonicMs();
      const r = await readInterfaces(host, { timeoutMs: 500 });
      const took = host.clock.monotonicMs() - started;
      checkEqual(r, { ok: false, error: { code: 'E_UBUS_TIMEOUT', message: 'ubus call network.interface dump: no answer within 500 ms', path: '' } }, 'result');
      check(took >= 450 && took < 15_000, `settled after ${took} ms`);
    },
  },
  {
    name: 'garbage and a wrong shape are clear errors',
    async run(context) {
      const { host } = context;
      setFake(context, { dump: 'garbage.txt' });
      const garbage = await readInterfaces(host);
      check(!garbage.ok && garbage.error.code === 'E_UBUS_JSON', `garbage: ${JSON.stringify(garbage)}`);
      check(garbage.error.message.startsWith('ubus call network.interface dump: not JSON'), `message: ${garbage.error.message}`);
      setFake(context, { dump: 'dump-bad-shape.json' });
      const shape = await readInterfaces(host);
      checkEqual(shape, {
        ok: false,
        error: {
          code: 'E_UBUS_SHAPE',
          message: 'network.interface dump: expected an integer, got string at interface[0]["ipv4-address"][0].mask',
          path: 'interface[0]["ipv4-address"][0].mask',
        },
      }, 'wrong shape');
    },
  },
  {
    name: 'an object that does not exist is E_UBUS_EXIT with exit 4',
    async run(context) {
      setFake(context, {});
      const r = await ubusCall(context.host, 'network.interface.nope', 'status');
      checkEqual(r, {
        ok: false,
        error: { code: 'E_UBUS_EXIT', message: 'ubus call network.interface.nope status: exit 4 (Not found)', path: '', exitCode: 4, signal: null, stderr: '' },
      }, 'result');
    },
  },
];
