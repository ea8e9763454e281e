/**
 * Every command README.md and docs/*.md tell a reader to type, run exactly as written, in a
 * copy of the tree as a fresh clone has it (no dist/, no data/) and in a network namespace of its
 * own, so that the documented default ports (1884, 8080, 5060) are free and nothing else on the
 * machine is reached. A command that runs until stopped is started, waited for until it says it
 * is up, and stopped with SIGTERM, as a service manager would.
 *
 * Each documented command must have a step below: a new command in the docs fails this test
 * until it is run here or skipped with a reason, and a step whose command left the docs fails it too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from '../support/bundles.ts';
import { commandsIn, type DocCommand } from '../support/doc-commands.ts';
import { makeRepoCopy } from '../support/repo-copy.ts';
import { describeSystem } from './support/guard.ts';

/** What to do with a documented command. A key ending in `…` matches the commands it starts. */
type Step =
  | { readonly run: string; readonly stdout?: RegExp; readonly stderr?: RegExp }
  | { readonly serve: string; readonly up: RegExp }
  | { readonly stop: string }
  | { readonly skip: string; readonly why: string };

const SESSION_ADD = 'curl -s -X POST http://127.0.0.1:8080/v1/sessions -d …';

const STEPS: readonly Step[] = [
  { run: 'npm run build', stderr: /dist\/agent\/callqos-agent\.js: [\d.]+ KiB/ },
  { run: 'npm run qjs -- -m dist/agent/callqos-agent.js --version', stdout: /\d+\.\d+\.\d+/ },
  { run: 'npm run render', stdout: /table inet callqos/ },
  // The kernel checks the batch without applying it: only the batch may be on standard output.
  { run: 'npm run -s render | nft -c -f -', stdout: /^$/ },
  { run: 'node scripts/ipk.mjs --ar', stdout: /\.ipk: [\d.]+ KiB \(ar container\)/ },
  { run: 'node dist/cloud/callqos-cloud.mjs --help', stdout: /sip run[\s\S]*clearinghouse[\s\S]*credentials[\s\S]*--broker <url>/ },
  { run: 'npm start -- --help', stdout: /server options:/ },
  { run: 'node dist/cloud/callqos-cloud.mjs credentials add device owrt-9c3a1f', stdout: /^[A-Za-z0-9_-]{32}\n$/ },

  { serve: 'npm start', up: /session API http:\/\/127\.0\.0\.1:8080\/v1\/sessions/ },
  // No router has reported yet: the call is refused, and the answer says so.
  { run: SESSION_ADD, stdout: /"state":\s*"rejected"/ },
  { run: 'curl -s -X DELETE http://127.0.0.1:8080/v1/sessions/a84b4c76%40pc33', stdout: /"callId":\s*"a84b4c76@pc33"/ },
  { serve: 'node dist/cloud/callqos-cloud.mjs sip run --broker mqtt://127.0.0.1:1884 --listen 127.0.0.1:5060', up: /callqos SIP proxy sip-proxy-1: SIP on 127\.0\.0\.1:5060/ },
  { stop: 'node dist/cloud/callqos-cloud.mjs sip run --broker mqtt://127.0.0.1:1884 --listen 127.0.0.1:5060' },
  { serve: 'node dist/cloud/callqos-cloud.mjs sip run --id sip-1 --broker mqtt://127.0.0.1:1884 …', up: /callqos SIP proxy sip-1: SIP on 0\.0\.0\.0:5060 \(UDP, TCP\) as 203\.0\.113\.5/ },
  { stop: 'node dist/cloud/callqos-cloud.mjs sip run --id sip-1 --broker mqtt://127.0.0.1:1884 …' },
  { stop: 'npm start' },
  // The router login made above is checked; the server logs in with one of its own.
  { serve: 'npm start -- --credentials data/credentials.jsonl', up: /mode=credentials logins=2[\s\S]*session API/ },
  { stop: 'npm start -- --credentials data/credentials.jsonl' },

  { serve: 'node dist/cloud/callqos-cloud.mjs', up: /session API http:\/\/127\.0\.0\.1:8080\/v1\/sessions/ },
  { stop: 'node dist/cloud/callqos-cloud.mjs' },

  { run: 'node dist/cloud/callqos-cloud.mjs operators add admin --role admin', stdout: /^[A-Za-z0-9_-]{32}\n$/ },
  { run: 'node dist/cloud/callqos-cloud.mjs operators list', stdout: /^admin\tadmin\t-\n$/ },
  { run: 'node dist/cloud/callqos-cloud.mjs clearinghouse keygen --id ch-1 --key data/ch.pem --public data/ch-keys.json', stdout: /^key \S+ for issuer ch-1/ },
  { serve: 'node dist/cloud/callqos-cloud.mjs --authorization required --domain domain-a --clearinghouse-keys data/ch-keys.json', up: /session API/ },
  { serve: 'node dist/cloud/callqos-cloud.mjs clearinghouse run --id ch-1 --key data/ch.pem --policy deploy/clearinghouse/policy.json --broker mqtt://127.0.0.1:1884', up: /callqos clearinghouse ch-1: key \S+, 2 domain\(s\)/ },
  { stop: 'node dist/cloud/callqos-cloud.mjs clearinghouse run --id ch-1 --key data/ch.pem --policy deploy/clearinghouse/policy.json --broker mqtt://127.0.0.1:1884' },
  { stop: 'node dist/cloud/callqos-cloud.mjs --authorization required --domain domain-a --clearinghouse-keys data/ch-keys.json' },
  { run: 'node dist/cloud/callqos-cloud.mjs clearinghouse settlement --store sqlite:data/clearinghouse.db --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z', stdout: /"lines": \[/ },

  { skip: 'npm test', why: 'the test suite this test is part of (.ci/run runs it)' },
  { skip: 'npm run check', why: 'the first step of npm test' },
  { skip: 'npm run test:system', why: 'the layer this test is in' },
  { skip: 'npm run demo', why: 'test/system/demo.test.ts runs it, with and without real nftables' },
  { skip: 'npm ci', why: 'what scripts/ensure-deps.mjs runs when node_modules is stale; this copy shares the tree\'s node_modules' },
  { skip: 'npm run bench', why: 'the benchmarks run for many minutes (bench/)' },
  { skip: 'node bench/sip.mjs', why: 'a benchmark (part of npm run bench)' },
  { skip: 'node dist/cloud/callqos-cloud.mjs --id qos-1 --broker mqtt://broker:1883 …', why: 'production: a Mosquitto at host broker and PostgreSQL at host db (test/integration/server runs two instances on both)' },
  { skip: 'npm run qjs -- <args>', why: 'a pattern, <args> a placeholder (npm run qjs -- -m … --version above runs it)' },
];

const keyOf = (step: Step): string => ('run' in step ? step.run : 'serve' in step ? step.serve : 'stop' in step ? step.stop : step.skip);

function matches(key: string, text: string): boolean {
  return key.endsWith('…') ? text.startsWith(key.slice(0, -1)) : text === key;
}

function documentedCommands(): DocCommand[] {
  const files = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  return files.flatMap((file) => commandsIn(file, readFileSync(join(repoRoot, file), 'utf8')));
}

const NAMESPACE = `callqos-docs-${process.pid}`;

interface Served {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

describeSystem('every command in README.md and docs/*.md, as written', ['ip', 'nft', 'curl'], () => {
  let copy: ReturnType<typeof makeRepoCopy>;
  const served = new Map<string, Served>();

  beforeAll(() => {
    copy = makeRepoCopy('docs-commands');
    spawnSync('ip', ['netns', 'del', NAMESPACE]);
    for (const argv of [['netns', 'add', NAMESPACE], ['-n', NAMESPACE, 'link', 'set', 'lo', 'up']]) {
      const made = spawnSync('ip', argv, { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`ip ${argv.join(' ')}: ${made.stderr}`);
    }
  });

  afterAll(() => {
    for (const { child } of served.values()) child.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', NAMESPACE]);
    copy?.remove();
  });

  /** `ip netns exec` execs the shell, and the shell execs the command: the child's pid is the command's. */
  const inNamespace = (command: string): [string, string[]] => ['ip', ['netns', 'exec', NAMESPACE, 'sh', '-c', `exec ${command}`]];

  it('has a step for each documented command, and documents each step\'s command', () => {
    const documented = documentedCommands();
    const unplanned = documented.filter((c) => !STEPS.some((s) => matches(keyOf(s), c.text))).map((c) => `${c.file}:${c.line}: ${c.text}`);
    expect(unplanned, 'documented commands this test neither runs nor skips').toEqual([]);
    const stale = STEPS.filter((s) => !documented.some((c) => matches(keyOf(s), c.text))).map(keyOf);
    expect(stale, 'steps whose command is no longer documented').toEqual([]);
  });

  it('runs them in a fresh copy: each finishes as the docs say, or comes up and stops cleanly on SIGTERM', async () => {
    const documented = documentedCommands();
    const textOf = (key: string): string => documented.find((c) => matches(key, c.text))!.text;
    for (const step of STEPS) {
      if ('skip' in step) continue;
      if ('run' in step) {
        const command = textOf(step.run);
        // A pipeline's status is its last command's: run it in the shell as written.
        const [program, args] = command.includes('|') ? ['ip', ['netns', 'exec', NAMESPACE, 'sh', '-c', command]] as [string, string[]] : inNamespace(command);
        const ran = spawnSync(program, args, { cwd: copy.path, encoding: 'utf8', timeout: 90_000 });
        const what = `${command}\nstatus ${ran.status}\nstdout: ${ran.stdout}\nstderr: ${ran.stderr}`;
        expect(ran.status, what).toBe(0);
        if (step.stdout) expect(ran.stdout, what).toMatch(step.stdout);
        if (step.stderr) expect(ran.stderr, what).toMatch(step.stderr);
      } else if ('serve' in step) {
        const command = textOf(step.serve);
        const [program, args] = inNamespace(command);
        const child = spawn(program, args, { cwd: copy.path, stdio: ['ignore', 'pipe', 'pipe'] });
        const running: Served = { child, output: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
        child.stdout!.on('data', (d: Buffer) => (running.output += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (running.output += d.toString()));
        served.set(step.serve, running);
        let exitedEarly = false;
        child.once('exit', () => (exitedEarly = true));
        for (const started = Date.now(); !step.up.test(running.output) && !exitedEarly && Date.now() - started < 60_000; ) await new Promise((r) => setTimeout(r, 50));
        expect(running.output, `${command} did not come up`).toMatch(step.up);
      } else {
        const running = served.get(step.stop)!;
        running.child.kill('SIGTERM');
        const code = await running.exited;
        served.delete(step.stop);
        expect(code, `${textOf(step.stop)} on SIGTERM:\n${running.output}`).toBe(0);
        expect(running.output, textOf(step.stop)).toMatch(/signal=SIGTERM/);
        // The programs' own lines (npm adds its banner): one log format, and against the project's own broker no word of MQTT 5.
        const ownLines = running.output.split('\n').filter((line) => line !== '' && !/^(> |callqos: |dist\/)/.test(line));
        expect(ownLines.filter((line) => !/^(debug|info|warn|error): \S/.test(line)), `${textOf(step.stop)}: lines not in the log format`).toEqual([]);
        expect(running.output).not.toMatch(/MQTT 5/);
      }
    }
  }, 240_000);
});
