/**
 * `callqos-cloud` as a user types it: the built program, run with each command's --help,
 * --version, `help`, unknown flags and missing values; the credentials commands with their
 * default file; the server's log in both formats.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCloudBundle } from '../../scripts/build.mjs';
import { repoRoot } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';
import { connectPlain } from './broker/support.ts';

let bundle: string;
const dir = makeTempDir('cli');

beforeAll(async () => {
  bundle = (await buildCloudBundle(join(repoRoot, 'dist', 'test', 'cli', 'callqos-cloud.mjs'))).file;
});
afterAll(() => dir.remove());

function cloud(args: string[], cwd = dir.path): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [bundle, ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('callqos-cloud command line', () => {
  it('lists its commands and the server options in --help, and answers help and --version', () => {
    const help = cloud(['--help']);
    expect(help.status).toBe(0);
    for (const word of ['sip run', 'clearinghouse', 'credentials', 'help [command]', '--broker <url>', '--log-format', '--version']) expect(help.stdout).toContain(word);
    expect(cloud(['help']).stdout).toBe(help.stdout);
    const version = cloud(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^callqos-cloud \d+\.\d+\.\d+\S*\n$/);
  });

  it('gives every command its own --help, and help <command> the same', () => {
    const commands = [['sip', 'run'], ['sip'], ['clearinghouse'], ['clearinghouse', 'keygen'], ['clearinghouse', 'run'], ['clearinghouse', 'settlement'], ['credentials']];
    for (const words of commands) {
      const help = cloud([...words, '--help']);
      expect(help.status, words.join(' ')).toBe(0);
      expect(help.stdout, words.join(' ')).toContain(`usage: callqos-cloud ${words.join(' ')}`);
      expect(cloud(['help', ...words]).stdout).toBe(help.stdout);
    }
    expect(cloud(['sip', 'run', '--help']).stdout).toContain('--listen <host:port>');
    expect(cloud(['clearinghouse', 'run', '--help']).stdout).toContain('--policy <policy.json>');
    expect(cloud(['credentials', '--help']).stdout).toContain('add <device|cc|server|clearinghouse> <id>');
  });

  it('reports an unknown flag as unknown and a flag without its value as needing one, with status 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--frobnicate'], /unknown option --frobnicate/],
      [['--frobnicate', 'x'], /unknown option --frobnicate/],
      [['--store'], /--store needs a value/],
      [['--store', '--http', 'off'], /--store needs a value/],
      [['sip', 'run', '--nope'], /unknown option --nope/],
      [['sip', 'run', '--broker'], /--broker needs a value/],
      [['clearinghouse', 'keygen', '--nope'], /unknown option --nope/],
      [['clearinghouse', 'settlement', '--store', 'sqlite::memory:'], /--from is required/],
      [['credentials', '--nope', 'list'], /unknown option --nope/],
      [['nonsense'], /unknown command "nonsense"/],
    ];
    for (const [args, message] of cases) {
      const run = cloud(args);
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.status, args.join(' ')).toBe(2);
    }
  });

  it('adds a router login with no --file, in data/credentials.jsonl (the directory made if missing)', () => {
    const cwd = makeTempDir('cli-credentials');
    try {
      const added = cloud(['credentials', 'add', 'device', 'owrt-9c3a1f'], cwd.path);
      expect(added.stderr).toBe('');
      expect(added.status).toBe(0);
      expect(added.stdout).toMatch(/^[A-Za-z0-9_-]{32}\n$/);
      const file = join(cwd.path, 'data', 'credentials.jsonl');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(cloud(['credentials', 'add', 'clearinghouse', 'ch-1'], cwd.path).status).toBe(0);
      expect(cloud(['credentials', 'list'], cwd.path).stdout).toBe('ch-1\tclearinghouse\nowrt-9c3a1f\tdevice\n');
      expect(cloud(['credentials', 'add', 'clearinghouse', 'ch-2', '--domain', 'd'], cwd.path).status).toBe(1);
    } finally {
      cwd.remove();
    }
  });

  it('runs the embedded broker with --credentials data/credentials.jsonl alone: routers log in with their logins, the server with one of its own', async () => {
    const cwd = makeTempDir('cli-embedded-logins');
    const password = cloud(['credentials', 'add', 'device', 'owrt-9c3a1f'], cwd.path).stdout.trim();
    const child = spawn(process.execPath, [bundle, '--credentials', 'data/credentials.jsonl', '--mqtt-listen', '127.0.0.1:0', '--http', 'off', '--store', 'sqlite::memory:'], { cwd: cwd.path, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let log = '';
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      for (const started = Date.now(); !log.includes('session API') && child.exitCode === null && Date.now() - started < 15_000; ) await new Promise((r) => setTimeout(r, 50));
      expect(log).toMatch(/broker: listening .*mode=credentials logins=2/);
      const port = Number(/MQTT mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1]);
      const router = await connectPlain(port, { username: 'owrt-9c3a1f', password, protocolVersion: 4, reconnectPeriod: 0 });
      router.end(true);
      await expect(connectPlain(port, { username: 'owrt-9c3a1f', password: 'wrong', protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow();
    } finally {
      child.kill('SIGTERM');
      cwd.remove();
    }
  });

  it('logs one format: text lines without escaped JSON, or JSON lines with --log-format json; no MQTT 5 refusal against its own broker', async () => {
    const logOf = async (format: string): Promise<string> => {
      const child = spawn(process.execPath, [bundle, '--mqtt-listen', '127.0.0.1:0', '--http', 'off', '--store', 'sqlite::memory:', '--log-format', format], { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const started = Date.now();
      while (!err.includes('session API') && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toBe('');
      return err;
    };
    const text = (await logOf('text')).trimEnd().split('\n');
    expect(text.length).toBeGreaterThan(2);
    for (const line of text) {
      expect(line).toMatch(/^(debug|info|warn|error): \S/);
      expect(line).not.toContain('\\"');
    }
    expect(text.join('\n')).not.toMatch(/MQTT 5/);
    expect(text.at(-1)).toMatch(/^info: stopped .*signal=SIGTERM/);
    const json = (await logOf('json')).trimEnd().split('\n');
    for (const line of json) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(record).toMatchObject({ level: expect.any(String), msg: expect.any(String), time: expect.any(String), service: 'callqos-cloud' });
    }
    expect(json.some((line) => line.includes('session API'))).toBe(true);
  });

  it('says why it cannot start in its log format, with status 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const run = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bundle, '--mqtt-listen', `127.0.0.1:${port}`, '--http', 'off', '--store', 'sqlite::memory:'], { cwd: dir.path, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (status) => resolve({ status, stderr }));
      });
      expect(run.status).toBe(1);
      expect(run.stderr.trimEnd().split('\n').at(-1)).toMatch(/^error: cannot start service=callqos-cloud error=".*EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});
