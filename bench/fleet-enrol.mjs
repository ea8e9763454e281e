// Fleet enrolment and the dashboard at fleet size: N simulated routers enrol with one key (a
// group that accepts at once) against the cloud program, each as a router does it (the shared
// enrolment login, enrol.request on its own topic, wait for enrol.answer), CONCURRENCY at a time.
// Measured, for each way of making broker logins side by side in one run (the embedded broker's
// credentials file, Mosquitto's dynamic security): the time until all are enrolled, enrolments
// per second, the server's CPU per enrolment, the server's RSS afterwards, and Mosquitto's CPU
// for dynamic security. Then, on the fleet the first run enrolled, the dashboard's device list in
// Chromium: first render (navigation to the first row drawn) and a filter (typing a search to
// the rows redrawn), each the median of a few tries. Reported, not asserted.
//
//   node bench/fleet-enrol.mjs [--write]
//
// CALLQOS_BENCH_ENROL_DEVICES (10000), CALLQOS_BENCH_ENROL_CONCURRENCY (64),
// CALLQOS_BENCH_ENROL_LIMIT_S (300: a run that takes longer stops and reports what it reached),
// CALLQOS_BENCH_ENROL_IDENTITIES (embedded,dynsec: the ways measured, in order).
// Metrics are flat, `fleetEnrol.<identities>.<name>` and `dashboard.<name>`; `--write` merges them
// into bench/results/latest.json. Needs mosquitto (and mosquitto_ctrl) and, for the dashboard
// figures, Debian's chromium.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { cloudBundle, freePort, haveMosquitto, logged, mergeLatest, printMetrics, procStats, round, sleep, stopProc } from './throughput.mjs';

const DEVICES = Number(process.env.CALLQOS_BENCH_ENROL_DEVICES ?? 10_000);
const CONCURRENCY = Number(process.env.CALLQOS_BENCH_ENROL_CONCURRENCY ?? 64);
const LIMIT_MS = Number(process.env.CALLQOS_BENCH_ENROL_LIMIT_S ?? 300) * 1000;
const IDENTITIES = (process.env.CALLQOS_BENCH_ENROL_IDENTITIES ?? 'embedded,dynsec').split(',');
const CHROMIUM = process.env.CALLQOS_CHROMIUM ?? '/usr/bin/chromium';
const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
const ENROL_LOGIN = { username: 'callqos-enrol', password: 'callqos-enrol' };

async function waitForLog(proc, pattern, ms, what) {
  const end = Date.now() + ms;
  while (!pattern.test(proc.log)) {
    if (proc.exited) throw new Error(`${what} exited: ${proc.log.slice(-2000)}`);
    if (Date.now() > end) throw new Error(`${what}: ${pattern} not seen in ${ms} ms: ${proc.log.slice(-2000)}`);
    await sleep(50);
  }
}

/** Mosquitto with dynamic security (its admin login made by mosquitto_ctrl) and a password file for the server's own login. */
async function startDynsecMosquitto(dir, port) {
  const dynsec = join(dir, 'dynsec.json');
  const admin = { user: 'bench-admin', password: randomBytes(12).toString('hex') };
  const init = spawnSync('mosquitto_ctrl', ['dynsec', 'init', dynsec, admin.user, admin.password], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`mosquitto_ctrl dynsec init: ${init.stderr}`);
  const server = { user: 'bench-qos-1', password: randomBytes(12).toString('hex') };
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  const made = spawnSync('mosquitto_passwd', ['-b', passwd, server.user, server.password], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`mosquitto_passwd: ${made.stderr}`);
  const acl = join(dir, 'acl');
  writeFileSync(acl, `user ${server.user}\ntopic readwrite callqos/v1/#\ntopic readwrite $CONTROL/dynamic-security/#\n`);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [
    `listener ${port} 127.0.0.1`, 'allow_anonymous false', 'per_listener_settings false', `plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${dynsec}`,
    `password_file ${passwd}`, `acl_file ${acl}`, 'set_tcp_nodelay true', 'persistence false', 'max_queued_messages 100000', 'max_connections -1', 'user root', 'log_type error', '',
  ].join('\n'));
  const proc = logged(['sh', '-c', 'ulimit -n "$(ulimit -Hn)" && exec "$1" -c "$2"', 'sh', haveMosquitto(), conf]);
  await sleep(500);
  if (proc.exited) throw new Error(`mosquitto exited: ${proc.log.slice(-1000)}`);
  const loginFile = join(dir, 'dynsec.login');
  writeFileSync(loginFile, `${admin.user}:${admin.password}\n`);
  chmodSync(loginFile, 0o600);
  const serverPasswordFile = join(dir, 'server.password');
  writeFileSync(serverPasswordFile, `${server.password}\n`);
  chmodSync(serverPasswordFile, 0o600);
  return { proc, loginFile, serverUser: server.user, serverPasswordFile };
}

/** The cloud program with the given broker arguments; resolves with its HTTP base and the setup link. */
async function startCloud(bundle, dir, brokerArgs) {
  const httpPort = await freePort();
  const proc = logged([process.execPath, bundle, '--id', 'bench-qos-1', '--store', `sqlite:${join(dir, 'server.db')}`, '--http', `127.0.0.1:${httpPort}`, '--log-level', 'warn', ...brokerArgs]);
  await waitForLog(proc, /setup#\S+/, 30_000, 'the cloud program');
  const setup = /url=(http:\/\/\S+\/setup#(\S+))/.exec(proc.log);
  return { proc, base: `http://127.0.0.1:${httpPort}`, setupToken: setup[2] };
}

/** An operator session on the API: the first admin made through the one-time setup link. */
async function adminSession(base, setupToken) {
  const res = await fetch(`${base}/api/v1/auth/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: setupToken, username: 'bench', password: 'bench-password-0123' }) });
  if (!res.ok) throw new Error(`setup: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const { csrfToken } = await res.json();
  const call = async (method, path, body) => {
    const r = await fetch(`${base}/api/v1${path}`, { method, headers: { cookie, 'x-csrf-token': csrfToken, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  return { cookie, call, credentials: { username: 'bench', password: 'bench-password-0123' } };
}

/** One router's enrolment, as the agent does it; resolves with the outcome's time in ms. */
async function enrolOne(brokerPort, key, i) {
  const hardwareId = `mac-${(0x100000000000 + i).toString(16).slice(1)}`;
  const started = Date.now();
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { ...ENROL_LOGIN, clientId: hardwareId, protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 30_000 });
  try {
    let waiting = null;
    client.on('message', (_topic, payload) => {
      const m = JSON.parse(payload.toString());
      if (m.type === 'enrol.answer' && waiting) waiting(m.body);
    });
    const answered = () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${hardwareId}: no answer within 60 s`)), 60_000);
        waiting = (body) => {
          clearTimeout(timer);
          waiting = null;
          resolve(body);
        };
      });
    await client.subscribeAsync(`callqos/v1/enrol/${hardwareId}/res`, { qos: 1 });
    const request = {
      v: 1, type: 'enrol.request', id: `${hardwareId}:1:1`, device: hardwareId, session: 1, seq: 1, ts: Date.now(),
      body: {
        key, hardwareId, password: randomBytes(24).toString('base64url'), hostname: 'OpenWrt',
        hardware: { model: 'Bench Router', boardName: 'bench,router', release: '24.10.0', target: 'x86/64', kernel: '6.6.73' },
        versions: { agent: '0.1.0', quickjs: '2024-01-13' },
        features: { cake: i % 2 === 0, fqCodel: true, ctinfo: false, flowOffload: false, nft: '1.1.1' },
      },
    };
    // A refusal that may pass (retryS: the broker or the store was busy) is asked again, as the
    // agent does; each retry is counted.
    for (let attempt = 1; ; attempt += 1) {
      const answer = answered();
      const ask = { ...request, id: `${hardwareId}:1:${attempt}`, seq: attempt, ts: Date.now() };
      await client.publishAsync(`callqos/v1/enrol/${hardwareId}/req`, JSON.stringify(ask), { qos: 1 });
      const body = await answer;
      if (body.outcome === 'accepted') return { ms: Date.now() - started, retries: attempt - 1 };
      if (body.outcome !== 'refused' || body.retryS === undefined || attempt >= 10) throw new Error(`${hardwareId}: ${JSON.stringify(body)}`);
      await sleep(body.retryS * 1000);
    }
  } finally {
    await client.endAsync(true).catch(() => {});
  }
}

/** Enrols `devices` routers, `concurrency` at a time, until done or the time limit; the per-router times. */
async function enrolAll(brokerPort, key, devices, concurrency, deadline) {
  const times = [];
  let retries = 0;
  let next = 0;
  const worker = async () => {
    while (next < devices && Date.now() < deadline) {
      const one = await enrolOne(brokerPort, key, next++);
      times.push(one.ms);
      retries += one.retries;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { times, retries };
}

async function runIdentities(bundle, identities) {
  const temp = mkdtempSync(join(tmpdir(), `callqos-bench-enrol-${identities}-`));
  const brokerPort = await freePort();
  let mosquitto = null;
  let cloud = null;
  try {
    let brokerArgs;
    if (identities === 'dynsec') {
      mosquitto = await startDynsecMosquitto(temp, brokerPort);
      brokerArgs = ['--broker', `mqtt://127.0.0.1:${brokerPort}`, '--broker-user', mosquitto.serverUser, '--broker-password-file', mosquitto.serverPasswordFile, '--identities', 'dynsec', '--dynsec-login', mosquitto.loginFile];
    } else {
      brokerArgs = ['--mqtt-listen', `127.0.0.1:${brokerPort}`, '--credentials', join(temp, 'credentials.jsonl'), '--identities', 'embedded'];
    }
    cloud = await startCloud(bundle, temp, brokerArgs);
    const admin = await adminSession(cloud.base, cloud.setupToken);
    await admin.call('POST', '/groups', { id: 'bench', name: 'Bench', domain: null, enrolPolicy: 'auto', reenrolPolicy: 'replace' });
    const { key } = await admin.call('POST', '/enrolment-keys', { group: 'bench', label: 'bench', expiresAtMs: null });
    const pid = cloud.proc.child.pid;
    const mosquittoPid = mosquitto?.proc.child.pid;
    const before = procStats(pid);
    const brokerBefore = mosquittoPid ? procStats(mosquittoPid) : null;
    const started = Date.now();
    const { times, retries } = await enrolAll(brokerPort, key, DEVICES, CONCURRENCY, started + LIMIT_MS);
    const elapsedMs = Date.now() - started;
    await sleep(1000);
    const after = procStats(pid);
    const brokerAfter = mosquittoPid ? procStats(mosquittoPid) : null;
    const listed = await admin.call('GET', '/devices?limit=1');
    const sorted = [...times].sort((a, b) => a - b);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    return {
      identities, enrolled: times.length, retries, listed: listed.total, elapsedMs, complete: times.length === DEVICES,
      serverCpuMsPer: (after.cpuMs - before.cpuMs) / Math.max(1, times.length), rssMb: after.rssKb / 1024,
      brokerCpuMsPer: brokerAfter ? (brokerAfter.cpuMs - brokerBefore.cpuMs) / Math.max(1, times.length) : null,
      p50Ms: at(50), p99Ms: at(99), base: cloud.base, admin, cleanup: async () => {
        await stopProc(cloud.proc);
        if (mosquitto) await stopProc(mosquitto.proc);
        rmSync(temp, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (cloud) await stopProc(cloud.proc);
    if (mosquitto) await stopProc(mosquitto.proc);
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The device list in Chromium on an enrolled fleet: first render and a filter, medians of `tries`. */
async function dashboardTimes(base, credentials, routers, tries = 5) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByLabel('Username').fill(credentials.username);
    await page.getByLabel('Password').fill(credentials.password);
    await page.getByRole('button', { name: /log in/i }).click();
    await page.getByRole('button', { name: /log out/i }).waitFor({ state: 'visible', timeout: 30_000 });
    const firstRender = [];
    const filter = [];
    for (let t = 0; t < tries; t += 1) {
      const started = Date.now();
      await page.goto(`${base}/devices`);
      await page.locator('table tbody tr').first().waitFor({ state: 'visible', timeout: 30_000 });
      firstRender.push(Date.now() - started);
      // A prefix that leaves one router of the fleet: the rows change to that one.
      const wanted = `mac-${(0x100000000000 + ((4321 + t) % routers)).toString(16).slice(1)}`;
      const typed = Date.now();
      await page.getByPlaceholder(/id, name or hardware/i).fill(wanted);
      await page.locator('table tbody tr', { hasText: wanted }).first().waitFor({ state: 'visible', timeout: 30_000 });
      await page.waitForFunction(() => document.querySelectorAll('table tbody tr').length === 1, undefined, { timeout: 30_000 });
      filter.push(Date.now() - typed);
    }
    return { firstRenderMs: median(firstRender), filterMs: median(filter), tries };
  } finally {
    await browser.close();
  }
}

export async function fleetEnrol() {
  if (!haveMosquitto()) return { 'fleetEnrol.skipped': { value: 1, unit: 'flag', note: 'mosquitto not installed', skipped: 'mosquitto not installed' } };
  const bundle = await cloudBundle();
  // The server serves dist/dashboard/ beside its bundle: build it from this tree, so that the
  // figures are the current code's.
  const { buildDashboard } = await import('../scripts/build.mjs');
  await buildDashboard();
  const metrics = {};
  for (const identities of IDENTITIES) {
    const r = await runIdentities(bundle, identities);
    const setup = `${r.enrolled} of ${DEVICES} simulated routers enrolled ${CONCURRENCY} at a time, auto-accepting group, identities ${identities}, SQLite${r.complete ? '' : `; stopped at the ${LIMIT_MS / 1000} s limit`}`;
    const m = (name, value, unit, note) => (metrics[`fleetEnrol.${identities}.${name}`] = { value: round(value), unit, note: `${note} (${setup})` });
    m('enrolled', r.enrolled, 'routers', 'routers enrolled');
    m('retries', r.retries, 'requests', 'requests asked again after a refusal that may pass (E_INTERNAL with retryS)');
    m('seconds', r.elapsedMs / 1000, 's', 'time until all were enrolled');
    m('per_second', r.enrolled / (r.elapsedMs / 1000), 'enrolments/s', 'enrolments per second');
    m('p50_ms', r.p50Ms, 'ms', 'one router: connect, ask, accepted, p50');
    m('p99_ms', r.p99Ms, 'ms', 'the same, p99');
    m('server_cpu_ms_per', r.serverCpuMsPer, 'ms', 'QoS control server CPU per enrolment');
    if (r.brokerCpuMsPer !== null) m('broker_cpu_ms_per', r.brokerCpuMsPer, 'ms', 'Mosquitto CPU per enrolment (dynamic security)');
    m('server_rss_mb', r.rssMb, 'MiB', 'server RSS with the fleet enrolled');
    try {
      // On the first fleet enrolled: the dashboard reads the same store whichever made the logins.
      if (identities === IDENTITIES[0] && existsSync(CHROMIUM)) {
        const d = await dashboardTimes(r.base, r.admin.credentials, r.enrolled);
        const note = `Chromium, the Devices page over ${r.listed} routers, median of ${d.tries}`;
        metrics['dashboard.devices_first_render_ms'] = { value: d.firstRenderMs, unit: 'ms', note: `${note}: navigation to the first row drawn (goal 1000)` };
        metrics['dashboard.devices_filter_ms'] = { value: d.filterMs, unit: 'ms', note: `${note}: a search typed to the one matching row drawn (goal 200)` };
      }
    } finally {
      await r.cleanup();
    }
  }
  return metrics;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const metrics = await fleetEnrol();
  printMetrics(metrics);
  if (process.argv.includes('--write')) {
    mergeLatest(metrics);
    console.log('merged into bench/results/latest.json');
  }
  process.exit(0);
}
