/**
 * `npm start` stopped the way a service manager stops it (SIGTERM to npm's pid) and the way Ctrl-C
 * does (SIGINT to the whole group). The server must get the signal, stop cleanly and leave nothing
 * behind: no process of the tree still running, its ports free. Run in a copy of the tree (its own dist/ and data/), on ports the test picks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLineOf, descendantsOf, isRunning } from '../support/processes.ts';
import { makeRepoCopy } from '../support/repo-copy.ts';

let copy: ReturnType<typeof makeRepoCopy>;
beforeAll(() => {
  copy = makeRepoCopy('npm-start');
});
afterAll(() => copy.remove());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(50)) if (condition()) return true;
  return condition();
}

/** Whether something accepts connections on the port (false once it is closed). */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const stops = [
  // A service manager: SIGTERM to the pid it started.
  { how: 'npm gets SIGTERM', signal: 'SIGTERM', send: (npm: ChildProcess) => npm.kill('SIGTERM') },
  // Ctrl-C in a terminal: SIGINT to the whole foreground group, npm and the server alike (npm passes its copy on too).
  { how: 'Ctrl-C signals the whole group', signal: 'SIGINT', send: (npm: ChildProcess) => process.kill(-npm.pid!, 'SIGINT') },
] as const;

describe('npm start under a service manager, and in a terminal', () => {
  it.each(stops)('stops the server cleanly, and everything it started, when $how', async ({ signal, send }) => {
    const npm = spawn('npm', ['start', '--', '--mqtt-listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--store', 'sqlite::memory:'], {
      cwd: copy.path,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, as a terminal's foreground job has.
      detached: true,
    });
    let log = '';
    npm.stdout.on('data', (d: Buffer) => (log += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    let tree: number[] = [];
    try {
      expect(await until(() => /session API http:\/\/\S+\/v1\/sessions/.test(log), 90_000), log).toBe(true);
      const http = Number(/session API http:\/\/127\.0\.0\.1:(\d+)\//.exec(log)![1]);
      const mqtt = Number(/MQTT mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1]);
      tree = descendantsOf(npm.pid!);
      expect(tree.map(commandLineOf).join('\n')).toMatch(/node/);
      expect(await accepting(http)).toBe(true);

      send(npm);
      await exited;
      const left = async () => tree.filter(isRunning);
      expect(await until(() => tree.every((pid) => !isRunning(pid)), 10_000), `still running: ${(await left()).map(commandLineOf).join('; ')}`).toBe(true);
      expect(await accepting(http)).toBe(false);
      expect(await accepting(mqtt)).toBe(false);
      expect(log).toMatch(new RegExp(`info: stopped .*signal=${signal}`));
    } finally {
      // What a failed run leaves behind goes too.
      for (const pid of [npm.pid!, ...tree]) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 120_000);
});
