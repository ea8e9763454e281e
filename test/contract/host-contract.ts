/**
 * The host contract: what every host adapter (QuickJS, Node) must do, identically. The same
 * cases run under Node (test/integration) and under real qjs (test/quickjs, from a bundle).
 * Only the core's Host interface and POSIX tools that OpenWrt has too (sh, seq, cat, sleep) are used.
 */
import type { ExitStatus, Host, SpawnOptions } from '../../src/core/host/index.ts';
import { ATOMIC_TEMP_MARK, EXIT_CANNOT_RUN } from '../../src/core/host/index.ts';
import { check, checkEqual, sleep, within } from './check.ts';

export interface ContractContext {
  readonly host: Host;
  /** A directory of the run's own, empty at the start. */
  readonly tempDir: string;
  /** argv prefix that runs test/contract/child.ts on the same runtime as `host`. */
  readonly childCommand: readonly string[];
}

export interface ContractCase {
  readonly name: string;
  run(context: ContractContext): Promise<void>;
}

interface Captured {
  readonly status: ExitStatus;
  readonly stdout: string[];
  readonly stderr: string[];
}

async function capture(host: Host, argv: readonly string[], options: SpawnOptions = {}, stdin?: string): Promise<Captured> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const child = host.processes.spawn(argv, {
    ...options,
    onStdoutLine: (line) => stdout.push(line),
    onStderrLine: (line) => stderr.push(line),
  });
  if (stdin !== undefined) child.write(stdin);
  child.closeStdin();
  const status = await within(host.timers, child.exited, 30_000, argv.join(' '));
  return { status, stdout, stderr };
}

/** Waits until the condition holds, checking every few milliseconds, or fails after the time. */
async function waitFor(host: Host, condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = host.clock.monotonicMs() + ms;
  while (!condition()) {
    check(host.clock.monotonicMs() < deadline, `${what}: not within ${ms} ms`);
    await sleep(host.timers, 5);
  }
}

const processCases: ContractCase[] = [
  {
    name: 'spawn: delivers stdout lines, a last line without newline, and exit code 0',
    async run({ host }) {
      const result = await capture(host, ['printf', 'alpha\\n\\nbeta\\r\\ngamma']);
      checkEqual(result.stdout, ['alpha', '', 'beta\r', 'gamma'], 'stdout lines');
      checkEqual(result.status, { code: 0, signal: null }, 'exit status');
    },
  },
  {
    name: 'spawn: keeps stderr apart from stdout and reports a non-zero exit code',
    async run({ host }) {
      const result = await capture(host, ['sh', '-c', 'echo out; echo err >&2; echo out2; exit 4']);
      checkEqual(result.stdout, ['out', 'out2'], 'stdout');
      checkEqual(result.stderr, ['err'], 'stderr');
      checkEqual(result.status, { code: 4, signal: null }, 'exit status');
    },
  },
  {
    name: 'spawn: reads a million lines completely and in order',
    async run({ host }) {
      let count = 0;
      let sum = 0;
      let inOrder = true;
      const child = host.processes.spawn(['seq', '1', '1000000'], {
        onStdoutLine: (line) => {
          count += 1;
          const value = Number(line);
          if (value !== count) inOrder = false;
          sum += value;
        },
      });
      child.closeStdin();
      const status = await within(host.timers, child.exited, 60_000, 'seq 1 1000000');
      checkEqual(status, { code: 0, signal: null }, 'exit status');
      checkEqual(count, 1_000_000, 'line count');
      check(inOrder, 'lines arrived out of order');
      checkEqual(sum, 500_000_500_000, 'sum of lines');
    },
  },
  {
    name: 'spawn: writes stdin larger than a pipe buffer while reading stdout (UTF-8 both ways)',
    async run({ host }) {
      const lines: string[] = [];
      for (let i = 0; i < 4000; i += 1) lines.push(`${i} größe ☎ 😀 ${'x'.repeat(i % 97)}`);
      const result = await capture(host, ['cat'], {}, lines.join('\n') + '\n');
      checkEqual(result.stdout.length, lines.length, 'line count');
      checkEqual(result.stdout.join('\n'), lines.join('\n'), 'echoed text');
      checkEqual(result.status, { code: 0, signal: null }, 'exit status');
    },
  },
  {
    name: 'spawn: a child that exits early, without reading its input, is reported and writes then fail',
    async run({ host }) {
      const stdout: string[] = [];
      const child = host.processes.spawn(['sh', '-c', 'read first; echo "got $first"; exit 3'], {
        onStdoutLine: (line) => stdout.push(line),
      });
      check(child.write('one\n'), 'first write accepted');
      // Far more than the pipe holds: the child never reads it, and the agent must not block or die.
      child.write('y'.repeat(1024 * 1024) + '\n');
      const status = await within(host.timers, child.exited, 10_000, 'early exit');
      checkEqual(status, { code: 3, signal: null }, 'exit status');
      checkEqual(stdout, ['got one'], 'stdout');
      checkEqual(child.write('too late\n'), false, 'write after exit');
      checkEqual(child.kill('SIGTERM'), false, 'kill after exit');
    },
  },
  {
    name: 'spawn: a child killed with SIGTERM or SIGKILL reports the signal',
    async run({ host }) {
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        const child = host.processes.spawn(['sleep', '30']);
        await sleep(host.timers, 20);
        check(child.kill(signal), `kill(${signal}) accepted`);
        const status = await within(host.timers, child.exited, 15_000, `sleep killed by ${signal}`);
        checkEqual(status, { code: null, signal }, 'exit status');
      }
    },
  },
  {
    name: 'spawn: a program that does not exist exits with 127',
    async run({ host }) {
      const result = await capture(host, ['callqos-no-such-program-here']);
      checkEqual(result.status, { code: EXIT_CANNOT_RUN, signal: null }, 'exit status');
      checkEqual(result.stdout, [], 'stdout');
    },
  },
  {
    name: 'spawn: invalid UTF-8 in output becomes U+FFFD the same way on every host',
    async run({ host }) {
      const result = await capture(host, ['printf', '\\377ok\\n\\303\\n\\355\\240\\200|\\360\\237\\230\\n']);
      checkEqual(result.stdout, ['\uFFFDok', '\uFFFD', '\uFFFD\uFFFD\uFFFD|\uFFFD'], 'decoded lines');
    },
  },
  {
    name: 'spawn: passes the given environment and working directory',
    async run({ host, tempDir }) {
      const env = { PATH: host.getEnv('PATH') ?? '/usr/sbin:/usr/bin:/sbin:/bin', CALLQOS_PROBE: 'a b=c' };
      const result = await capture(host, ['sh', '-c', 'echo "$CALLQOS_PROBE"; echo "${HOME:-unset}"; pwd'], { env, cwd: tempDir });
      checkEqual(result.stdout, ['a b=c', 'unset', tempDir], 'stdout');
    },
  },
  {
    name: 'spawn: drops a line longer than the limit, reports it, and goes on with the next line',
    async run({ host }) {
      const overflows: string[] = [];
      const result = await capture(host, ['sh', '-c', 'printf "%05000d\\n" 0; echo after; printf "%01000d" 0'], {
        maxLineBytes: 1000,
        onOverflow: (stream, bytes) => overflows.push(`${stream}:${bytes}`),
      });
      checkEqual(result.stdout, ['after', '0'.repeat(1000)], 'delivered lines');
      checkEqual(overflows, ['stdout:5000'], 'overflow reports');
    },
  },
  {
    name: 'spawn: many short-lived children in parallel all complete',
    async run({ host }) {
      const runs: Promise<Captured>[] = [];
      for (let i = 0; i < 40; i += 1) runs.push(capture(host, ['sh', '-c', `echo ${i}; exit ${i % 5}`]));
      const results = await Promise.all(runs);
      results.forEach((result, i) => {
        checkEqual(result.stdout, [String(i)], `child ${i} stdout`);
        checkEqual(result.status.code, i % 5, `child ${i} exit code`);
      });
    },
  },
];

const fileCases: ContractCase[] = [
  {
    name: 'files: writes atomically, reads back, lists sorted and removes',
    async run({ host, tempDir }) {
      const { files } = host;
      const path = `${tempDir}/state.json`;
      const text = '{"gates":["ef-1"],"note":"größe ☎ 😀"}\n';
      checkEqual(files.writeAtomic(path, text), { ok: true, value: undefined }, 'first write');
      checkEqual(files.readText(path), { ok: true, value: text }, 'read back');
      checkEqual(files.writeAtomic(path, 'second'), { ok: true, value: undefined }, 'replace');
      checkEqual(files.readText(path), { ok: true, value: 'second' }, 'read replaced');
      checkEqual(files.writeAtomic(`${tempDir}/b`, ''), { ok: true, value: undefined }, 'empty file');
      checkEqual(files.readText(`${tempDir}/b`), { ok: true, value: '' }, 'read empty file');
      checkEqual(files.list(tempDir), { ok: true, value: ['b', 'state.json'] }, 'listing (no temporary files left)');
      check(files.exists(path), 'exists before remove');
      checkEqual(files.remove(path), { ok: true, value: undefined }, 'remove');
      check(!files.exists(path), 'gone after remove');
      checkEqual(files.remove(path), { ok: true, value: undefined }, 'removing a missing file');
      checkEqual(files.remove(`${tempDir}/b`).ok, true, 'clean up');
    },
  },
  {
    name: 'files: readBytes reads at most the count asked, from a file or from a device that never ends',
    async run({ host, tempDir }) {
      const raw = await capture(host, ['sh', '-c', `printf 'a\\000\\377b' > ${tempDir}/bytes`]);
      checkEqual(raw.status.code, 0, 'raw write');
      const two = host.files.readBytes(`${tempDir}/bytes`, 2);
      checkEqual(two.ok ? [...two.value] : two.error.code, [0x61, 0x00], 'the first two bytes');
      const all = host.files.readBytes(`${tempDir}/bytes`, 100);
      checkEqual(all.ok ? [...all.value] : all.error.code, [0x61, 0x00, 0xff, 0x62], 'a short file: all of it');
      const random = host.files.readBytes('/dev/urandom', 64);
      checkEqual(random.ok ? random.value.length : random.error.code, 64, '/dev/urandom: exactly the count');
      const missing = host.files.readBytes(`${tempDir}/missing`, 4);
      checkEqual(missing.ok ? 'read' : missing.error.code, 'ENOENT', 'a missing file');
      checkEqual(host.files.remove(`${tempDir}/bytes`).ok, true, 'clean up');
    },
  },
  {
    name: 'files: a large file and invalid UTF-8 read back the same on every host',
    async run({ host, tempDir }) {
      const big = 'line ☎\n'.repeat(200_000);
      const path = `${tempDir}/big`;
      checkEqual(host.files.writeAtomic(path, big).ok, true, 'write big');
      const read = host.files.readText(path);
      check(read.ok && read.value === big, 'big file reads back equal');
      const raw = await capture(host, ['sh', '-c', `printf 'a\\377b\\n' > ${tempDir}/raw`]);
      checkEqual(raw.status.code, 0, 'raw write');
      checkEqual(host.files.readText(`${tempDir}/raw`), { ok: true, value: 'a\uFFFDb\n' }, 'invalid UTF-8 read');
      checkEqual(host.files.writeAtomic(`${tempDir}/raw`, 'lone \uD800 pair \uD83D\uDE00 end \uDC00').ok, true, 'write surrogates');
      checkEqual(host.files.readText(`${tempDir}/raw`), { ok: true, value: 'lone \uFFFD pair \uD83D\uDE00 end \uFFFD' }, 'surrogates read');
      checkEqual(host.files.remove(path).ok, true, 'clean up');
      checkEqual(host.files.remove(`${tempDir}/raw`).ok, true, 'clean up raw');
    },
  },
  {
    name: 'files: append creates, extends, keeps UTF-8 and reports errors',
    async run({ host, tempDir }) {
      const { files } = host;
      const path = `${tempDir}/journal`;
      checkEqual(files.append(path, 'one ☎\n'), { ok: true, value: undefined }, 'append creates');
      checkEqual(files.append(path, 'two 😀\n'), { ok: true, value: undefined }, 'append extends');
      checkEqual(files.append(path, ''), { ok: true, value: undefined }, 'empty append');
      checkEqual(files.readText(path), { ok: true, value: 'one ☎\ntwo 😀\n' }, 'read appended');
      checkEqual(files.writeAtomic(path, ''), { ok: true, value: undefined }, 'truncate by replacing');
      checkEqual(files.append(path, 'three\n'), { ok: true, value: undefined }, 'append after replace');
      checkEqual(files.readText(path), { ok: true, value: 'three\n' }, 'read after replace');
      const missing = files.append(`${tempDir}/no/such/file`, 'x');
      check(!missing.ok && missing.error.code === 'ENOENT', `append into a missing dir: ${JSON.stringify(missing)}`);
      const onDir = files.append(tempDir, 'x');
      check(!onDir.ok && onDir.error.code === 'EISDIR', `append to a directory: ${JSON.stringify(onDir)}`);
      checkEqual(files.remove(path).ok, true, 'clean up');
    },
  },
  {
    name: 'files: errors carry the errno name and the path, and leave nothing behind',
    async run({ host, tempDir }) {
      const { files } = host;
      const missing = `${tempDir}/no/such/dir/file`;
      const read = files.readText(`${tempDir}/missing`);
      check(!read.ok && read.error.code === 'ENOENT' && read.error.path === `${tempDir}/missing`, `read missing: ${JSON.stringify(read)}`);
      const dir = files.readText(tempDir);
      check(!dir.ok && dir.error.code === 'EISDIR', `read a directory: ${JSON.stringify(dir)}`);
      const write = files.writeAtomic(missing, 'x');
      check(!write.ok && write.error.code === 'ENOENT' && write.error.path === missing, `write into missing dir: ${JSON.stringify(write)}`);
      const list = files.list(`${tempDir}/nothing`);
      check(!list.ok && list.error.code === 'ENOENT', `list missing: ${JSON.stringify(list)}`);
      const onto = files.writeAtomic(tempDir, 'x');
      check(!onto.ok, 'writing over a directory fails');
      checkEqual(files.list(tempDir), { ok: true, value: [] }, 'no temporary files left behind');
    },
  },
  {
    name: 'files: makes nested directories, and reads lines from a FIFO written by other processes',
    async run({ host, tempDir }) {
      const dir = `${tempDir}/run/callqos`;
      checkEqual(host.files.makeDir(dir), { ok: true, value: undefined }, 'make nested directory');
      checkEqual(host.files.makeDir(dir), { ok: true, value: undefined }, 'make it again');
      checkEqual(host.files.writeAtomic(`${dir}/file`, 'x').ok, true, 'write a file');
      const onFile = host.files.makeDir(`${dir}/file`);
      check(!onFile.ok && onFile.error.code === 'EEXIST', `directory over a file: ${JSON.stringify(onFile)}`);
      const fifo = `${dir}/cmd`;
      checkEqual((await capture(host, ['mkfifo', fifo])).status.code, 0, 'mkfifo');
      const lines: string[] = [];
      const listener = host.files.listenFifo(fifo, (line) => lines.push(line));
      check(listener.ok, `listen: ${JSON.stringify(listener)}`);
      // Two writers one after the other: the FIFO must not end when the first closes it.
      for (const text of ['{"cmd":"reconcile"}', 'größe ☎']) {
        checkEqual((await capture(host, ['sh', '-c', 'exec 3<>"$1"; printf "%s\\n" "$2" >&3', 'sh', fifo, text])).status.code, 0, 'writer');
      }
      await waitFor(host, () => lines.length === 2, 15_000, 'FIFO lines');
      listener.value.close();
      checkEqual(lines, ['{"cmd":"reconcile"}', 'größe ☎'], 'lines');
      const missing = host.files.listenFifo(`${dir}/none`, () => {});
      check(!missing.ok && missing.error.code === 'ENOENT', `missing FIFO: ${JSON.stringify(missing)}`);
    },
  },
  {
    name: 'files: a writer killed halfway never leaves a partial file',
    async run({ host, tempDir, childCommand }) {
      const path = `${tempDir}/interrupted.txt`;
      for (const delayMs of [30, 70, 150]) {
        const writer = host.processes.spawn([...childCommand, 'atomic-writer', path]);
        await waitFor(host, () => host.files.exists(path), 10_000, 'first complete write');
        await sleep(host.timers, delayMs);
        check(writer.kill('SIGKILL'), 'writer killed');
        checkEqual((await within(host.timers, writer.exited, 15_000, 'writer exit')).signal, 'SIGKILL', 'writer died of SIGKILL');
        const read = host.files.readText(path);
        check(read.ok, 'target readable');
        const match = /^begin (\d+)\n[^]*\nend (\d+)\n$/.exec(read.value);
        check(match !== null && match[1] === match[2], `target is one whole version (${read.value.length} bytes)`);
      }
      // What an interruption leaves is only temporary files, recognisable by their mark.
      const listing = host.files.list(tempDir);
      check(listing.ok, 'list');
      for (const name of listing.value.filter((n) => n.startsWith('interrupted.txt'))) {
        check(name === 'interrupted.txt' || name.startsWith(`interrupted.txt${ATOMIC_TEMP_MARK}`), `unexpected file ${name}`);
        checkEqual(host.files.remove(`${tempDir}/${name}`).ok, true, `remove ${name}`);
      }
    },
  },
];

const timeCases: ContractCase[] = [
  {
    name: 'timers: fire in order of their delays, after the current code, and can be cleared',
    async run({ host }) {
      const order: string[] = [];
      await new Promise<void>((resolve) => {
        host.timers.setTimeout(() => order.push('30'), 30);
        const cleared = host.timers.setTimeout(() => order.push('cleared'), 10);
        host.timers.setTimeout(() => order.push('10'), 10);
        host.timers.setTimeout(() => order.push('0'), 0);
        host.timers.setTimeout(() => resolve(), 60);
        host.timers.clearTimeout(cleared);
        order.push('sync');
      });
      checkEqual(order, ['sync', '0', '10', '30'], 'firing order');
    },
  },
  {
    name: 'clock: monotonic time advances with timers and never goes back; wall time is epoch milliseconds',
    async run({ host }) {
      const { clock } = host;
      let previous = clock.monotonicMs();
      for (let i = 0; i < 1000; i += 1) {
        const now = clock.monotonicMs();
        check(now >= previous, 'monotonic clock went backwards');
        previous = now;
      }
      const start = clock.monotonicMs();
      await sleep(host.timers, 120);
      const elapsed = clock.monotonicMs() - start;
      // /proc/uptime, the fallback on QuickJS 2021-03-27, ticks every 10 ms.
      check(elapsed >= 100 && elapsed < 15_000, `elapsed ${elapsed} ms for a 120 ms timer`);
      const wall = clock.wallMs();
      check(Number.isInteger(wall) && wall > Date.UTC(2024, 0, 1), `wall clock ${wall}`);
    },
  },
];

const selfCases: ContractCase[] = [
  {
    name: 'signals: SIGHUP and SIGTERM reach the handlers the agent installed; exit sets the code',
    async run({ host, childCommand }) {
      const lines: string[] = [];
      const child = host.processes.spawn([...childCommand, 'signals'], { onStdoutLine: (line) => lines.push(line) });
      await waitFor(host, () => lines.includes('ready'), 10_000, 'child ready');
      check(child.kill('SIGHUP'), 'SIGHUP sent');
      await waitFor(host, () => lines.includes('got SIGHUP'), 15_000, 'SIGHUP handled');
      check(child.kill('SIGTERM'), 'SIGTERM sent');
      const status = await within(host.timers, child.exited, 15_000, 'child exit');
      checkEqual(lines, ['ready', 'got SIGHUP', 'got SIGTERM'], 'child output');
      checkEqual(status, { code: 7, signal: null }, 'exit code chosen by the SIGTERM handler');
    },
  },
  {
    name: 'log: lines go to stderr one per record, filtered by level',
    async run({ host, childCommand }) {
      const result = await capture(host, [...childCommand, 'log']);
      checkEqual(
        result.stderr,
        ['warn: disk almost full free=3%', 'error: cannot apply batch component=nft code=2', 'info: two words msg="a b"'],
        'stderr',
      );
      checkEqual(result.stdout, ['args=log'], 'stdout');
      checkEqual(result.status, { code: 0, signal: null }, 'exit status');
    },
  },
];

export const hostContract: readonly ContractCase[] = [...processCases, ...fileCases, ...timeCases, ...selfCases];
