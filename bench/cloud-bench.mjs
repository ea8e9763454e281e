// What the control-plane benchmarks share, all on loopback: a real Mosquitto on a free port,
// the QoS control server as a child process (so its CPU time and memory are its own), the
// simulated routers (sim-devices.mjs) in child processes, a PostgreSQL database of the bench's
// own, and the session API over HTTP without Nagle.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { sleep } from './lab.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A child whose output is kept (and read as it comes, so that it never blocks on a full pipe). */
export function child(argv, { stdin = 'ignore' } = {}) {
  const proc = spawn(argv[0], argv.slice(1), { stdio: [stdin, 'pipe', 'pipe'] });
  const running = { proc, log: '', lines: [] };
  let rest = '';
  proc.stdout.on('data', (d) => {
    running.log += d;
    const lines = (rest + d).split('\n');
    rest = lines.pop();
    running.lines.push(...lines);
  });
  proc.stderr.on('data', (d) => (running.log += d));
  proc.on('error', () => {});
  return running;
}

export async function waitFor(running, test, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const found = running.lines.find(test);
    if (found) return found;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms:\n${running.log.slice(-1500)}`);
    if (running.proc.exitCode !== null) throw new Error(`${what}: exited ${running.proc.exitCode}:\n${running.log.slice(-1500)}`);
    await sleep(20);
  }
}

export function stopChild(running) {
  if (!running || running.proc.exitCode !== null || running.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    running.proc.once('close', resolve);
    running.proc.kill('SIGKILL');
  });
}

/** Mosquitto on a free loopback port, without Nagle, with room for many connections. */
export async function startMosquitto(dir) {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nmax_queued_messages 100000\n`);
  const start = () => child(['sh', '-c', 'ulimit -n 65536 2>/dev/null; exec mosquitto -c "$1"', 'sh', conf]);
  const broker = { port, url: `mqtt://127.0.0.1:${port}`, running: start(), restart: null };
  broker.restart = async () => {
    await stopChild(broker.running);
    broker.running = start();
    await sleep(200);
  };
  await sleep(200);
  return broker;
}

/** The cloud program against an external broker; resolves once its session API answers. */
export async function startServer(bundle, brokerUrl, storeUrl) {
  const httpPort = await freePort();
  const server = child([process.execPath, bundle, '--broker', brokerUrl, '--store', storeUrl, '--http', `127.0.0.1:${httpPort}`, '--log-level', 'warn', '--deadline-ms', '10000']);
  await waitFor(server, (l) => l.includes('session API'), 30_000, 'the server');
  server.base = `http://127.0.0.1:${httpPort}`;
  return server;
}

/** CPU time (user + system) and memory of a process, from /proc. */
export function processUsage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  // USER_HZ is 100 on Linux.
  return { cpuMs: ticks * 10, rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

/** Simulated routers, `perProcess` to a child; resolves when all have synchronised. */
export async function startDevices(brokerUrl, count, perProcess = 2500) {
  const sims = [];
  for (let first = 0; first < count; first += perProcess) {
    const n = Math.min(perProcess, count - first);
    sims.push(child([process.execPath, join(here, 'sim-devices.mjs'), brokerUrl, String(first), String(n)], { stdin: 'pipe' }));
  }
  const started = performance.now();
  for (const sim of sims) await waitFor(sim, (l) => l.startsWith('ready '), 300_000, 'simulated routers');
  return { sims, readyMs: performance.now() - started };
}

export const deviceId = (i) => `sim${String(i).padStart(5, '0')}`;

/** A session between simulated routers a and b (their IPv6 LANs), unique by n. */
export function simCall(n, a, b) {
  const port = 10000 + (n % 25000) * 2;
  return {
    callId: `bench-${n}@sim`,
    caller: { source: `2001:db8:ffff:${a.toString(16)}::1` },
    callee: { source: `2001:db8:ffff:${b.toString(16)}::1` },
    media: [{ line: 0, type: 'audio', direction: 'sendrecv', offer: { address: `2001:db8:${a.toString(16)}:1::20`, port }, answer: { address: `2001:db8:${b.toString(16)}:1::20`, port: port + 1 }, codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    wait: true,
  };
}

/** HTTP with keep-alive and no Nagle (a body otherwise waits 40 ms for the ACK of its headers). */
export function httpClient(base, sockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const request = (method, path, body) =>
    new Promise((resolve, reject) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      const req = http.request(`${base}${path}`, { method, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
        let out = '';
        res.on('data', (d) => (out += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(out));
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('socket', (s) => s.setNoDelay(true));
      req.on('error', reject);
      req.end(text);
    });
  return { request, close: () => agent.destroy() };
}

/** A database of the bench's own on the PostgreSQL server the machine runs; null when there is none. */
export async function benchDatabase() {
  const admin = process.env.CALLQOS_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `callqos_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const run = async (sql) => {
    const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  try {
    await run(`CREATE DATABASE ${name}`);
  } catch (err) {
    return { url: null, reason: `no PostgreSQL at ${admin}: ${err.message}` };
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
