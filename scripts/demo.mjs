// `npm run demo`: the whole control flow on this machine, for a first look. It starts the cloud
// program (embedded MQTT broker, QoS control server, SQLite in a temporary directory) and two
// simulated routers running the real agent code under Node, then sets up a call every few seconds
// through the session API, shows the gates both routers installed, and tears the call down.
//
// As root (with ip, nft and tc), each router is a network namespace and the agents drive real
// nftables and tc there. Otherwise, or with CALLQOS_DEMO_RECORD=1, the routers' nft and tc are
// recording stand-ins that change nothing, and the demo says so. Ctrl-C stops it;
// CALLQOS_DEMO_CALLS=<n> stops it after n calls. The agents talk MQTT through mosquitto_sub and
// mosquitto_pub, as on OpenWrt, so those must be installed (Debian: mosquitto-clients).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentConfig, buildTwoRouterLab, Lab, ubusDump } from '../bench/lab.mjs';
import { buildCloudBundle, buildNodeAgentBundle } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CALLS = Number(process.env.CALLQOS_DEMO_CALLS ?? 0);
const EVERY_MS = 3000;
const HOLD_MS = 1500;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const has = (tool) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;
const say = (line) => process.stdout.write(`${line}\n`);

// What the routers run instead of nft and tc when the demo cannot touch the kernel: each call and
// its batch is appended to a log, which the demo shows; `nft monitor` waits, as the real one does.
const RECORDING_NFT = `#!/bin/sh
log="$CALLQOS_DEMO_RECORD_DIR/nft.log"
[ "$1" = monitor ] && exec sleep 2147483647
echo "nft $*" >>"$log"
if [ "$1" = -f ]; then cat >>"$log"; fi
exit 0
`;
const RECORDING_TC = `#!/bin/sh
echo "tc $*" >>"$CALLQOS_DEMO_RECORD_DIR/tc.log"
exit 0
`;

class Demo {
  constructor() {
    this.real = process.getuid?.() === 0 && ['ip', 'nft', 'tc'].every(has) && process.env.CALLQOS_DEMO_RECORD !== '1';
    this.temp = mkdtempSync(join(tmpdir(), 'callqos-demo-'));
    this.children = [];
    this.lab = null;
  }

  /** A child whose output is read as it comes (a full pipe would stop it); lines go to `onLine`. */
  start(argv, { ns = null, env = {}, onLine = () => {} } = {}) {
    const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const proc = { child, log: '' };
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.on('data', (d) => {
        proc.log += d;
        const lines = (rest + d).split('\n');
        rest = lines.pop();
        for (const line of lines) onLine(line);
      });
    }
    this.children.push(child);
    return proc;
  }

  async until(proc, text, ms, what) {
    const end = Date.now() + ms;
    while (!proc.log.includes(text)) {
      if (Date.now() > end) throw new Error(`${what}: "${text}" not seen in ${ms} ms:\n${proc.log.slice(-2000)}`);
      if (proc.child.exitCode !== null) throw new Error(`${what} exited (${proc.child.exitCode}):\n${proc.log.slice(-2000)}`);
      await sleep(50);
    }
  }

  async startCloud(cloudBundle) {
    const store = `sqlite:${join(this.temp, 'demo.db')}`;
    if (this.real) {
      this.lab = new Lab('demo');
      const { cloud, routers } = buildTwoRouterLab(this.lab);
      this.ns = { cloud, A: routers.A, B: routers.B };
      this.broker = { host: '10.99.0.1', port: 1883 };
      this.server = this.start([process.execPath, cloudBundle, '--mqtt-listen', '10.99.0.1:1883', '--http', '127.0.0.1:8080', '--store', store], { ns: cloud });
      this.httpBase = 'http://127.0.0.1:8080';
    } else {
      this.ns = { cloud: null, A: null, B: null };
      this.server = this.start([process.execPath, cloudBundle, '--mqtt-listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--store', store]);
    }
    await this.until(this.server, 'session API', 20_000, 'the cloud program');
    const line = this.server.log.split('\n').find((l) => l.includes('session API'));
    say(`cloud:    ${line.replace(/^info: callqos-cloud \S+: /, '').replace(/ service=\S+$/, '')}`);
    // The routers and their calls show in the dashboard; its first admin comes from this link.
    const setup = /url=(http:\/\/\S+\/setup#\S+)/.exec(this.server.log);
    if (setup) say(`cloud:    first dashboard admin: open ${setup[1]}${this.real ? ' (from inside the demo\'s cloud namespace)' : ''}`);
    if (!this.real) {
      const mqtt = /MQTT mqtt:\/\/([^:]+):(\d+)/.exec(line);
      this.broker = { host: mqtt[1], port: Number(mqtt[2]) };
      this.httpBase = /session API (http:\/\/\S+?)\/v1\/sessions/.exec(line)[1];
    }
  }

  async startRouters(agentBundle) {
    const shims = join(this.temp, 'bin');
    if (!this.real) {
      mkdirSync(shims);
      for (const [name, text] of [['nft', RECORDING_NFT], ['tc', RECORDING_TC]]) {
        writeFileSync(join(shims, name), text);
        chmodSync(join(shims, name), 0o755);
      }
    }
    this.agents = {};
    for (const [i, name] of [[1, 'A'], [2, 'B']]) {
      const dir = join(this.temp, `rt${name}`);
      mkdirSync(join(dir, 'ubus'), { recursive: true });
      mkdirSync(join(dir, 'record'));
      // The ubus stand-in reads its answers beside its own directory (test/fixtures/ubus).
      const dump = join(dir, 'ubus', 'dump.json');
      writeFileSync(dump, ubusDump(`198.18.${i}.1`, `10.99.${i}.2`));
      writeFileSync(join(dir, 'ubus', 'dump'), relative(join(root, 'test', 'fixtures', 'ubus'), dump));
      writeFileSync(join(dir, 'ubus', 'board'), 'board.json');
      writeFileSync(join(dir, 'callqos'), agentConfig({ stateDir: join(dir, 'state'), device: `rt${name}`, broker: this.broker.host, port: this.broker.port }));
      const path = [...(this.real ? [] : [shims]), join(root, 'test', 'fixtures', 'ubus', 'bin'), process.env.PATH].join(':');
      this.agents[name] = this.start([process.execPath, agentBundle, 'run', '--config', join(dir, 'callqos')], {
        ns: this.ns[name],
        env: { PATH: path, CALLQOS_FAKE_UBUS: join(dir, 'ubus'), CALLQOS_DEMO_RECORD_DIR: join(dir, 'record') },
        onLine: (l) => {
          if (/gate (installed|removed)|error:/.test(l)) say(`router ${name}: ${l.replace(/ component=\S+/, '')}`);
        },
      });
    }
    for (const name of ['A', 'B']) await this.until(this.agents[name], 'resynchronised', 30_000, `router ${name}'s agent`);
    say(`routers:  A (LAN 198.18.1.0/24) and B (LAN 198.18.2.0/24) connected and synchronised, ${this.real ? 'each in a network namespace with real nftables and tc' : 'with RECORDING nft and tc: nothing reaches the kernel (run as root for the real data plane)'}`);
  }

  /** The session API, from the cloud namespace when there is one. */
  api(method, path, body) {
    const text = body === undefined ? '' : JSON.stringify(body);
    if (this.real) {
      return new Promise((resolve, reject) => {
        const argv = ['ip', 'netns', 'exec', this.ns.cloud, 'curl', '-s', '-X', method, `${this.httpBase}${path}`, ...(body ? ['-H', 'content-type: application/json', '--data-binary', text] : [])];
        const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('close', () => {
          try {
            resolve(JSON.parse(out));
          } catch {
            reject(new Error(`${method} ${path}: ${out.slice(0, 200)}`));
          }
        });
      });
    }
    return new Promise((resolve, reject) => {
      const req = http.request(`${this.httpBase}${path}`, { method, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
        let out = '';
        res.on('data', (d) => (out += d));
        res.on('end', () => resolve(JSON.parse(out)));
      });
      req.on('error', reject);
      req.end(text);
    });
  }

  /** The class-map elements a router holds (real) or was asked to add (recording) for one port. */
  gateLines(name, port) {
    const mine = (l) => l.includes(` . ${port} `) && l.includes('counter');
    if (!this.real) {
      const log = readFileSync(join(this.temp, `rt${name}`, 'record', 'nft.log'), 'utf8');
      return log.split('\n').filter((l) => l.startsWith('add element') && mine(l)).slice(-2);
    }
    return ['up_v4', 'down_v4'].flatMap((map) => {
      const listed = spawnSync('ip', ['netns', 'exec', this.ns[name], 'nft', 'list', 'map', 'inet', 'callqos', map], { encoding: 'utf8' }).stdout;
      return listed.split('\n').filter(mine).map((l) => `${map}: ${l.trim().replace(/^elements = \{ /, '')}`);
    });
  }

  async call(i) {
    const port = 40000 + 2 * i;
    const callId = `demo-${i}@callqos`;
    const started = Date.now();
    const answer = await this.api('POST', '/v1/sessions', {
      callId, caller: { source: '10.99.1.2' }, callee: { source: '10.99.2.2' }, wait: true,
      media: [{ line: 0, type: 'audio', direction: 'sendrecv', offer: { address: '198.18.1.20', port }, answer: { address: '198.18.2.20', port: port + 1 }, codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    });
    say(`call ${callId}: 198.18.1.20:${port} <-> 198.18.2.20:${port + 1} G.711, ${answer.state} in ${Date.now() - started} ms${answer.reason ? ` (${answer.reason})` : ''}`);
    for (const name of ['A', 'B']) for (const line of this.gateLines(name, name === 'A' ? port : port + 1)) say(`  router ${name} nft: ${line.slice(0, 150)}`);
    await sleep(HOLD_MS);
    await this.api('DELETE', `/v1/sessions/${encodeURIComponent(callId)}`);
    let state = 'ending';
    for (let polls = 0; state !== 'ended' && polls < 100; polls += 1) {
      await sleep(50);
      state = (await this.api('GET', `/v1/sessions/${encodeURIComponent(callId)}`)).state;
    }
    say(`call ${callId}: ${state} (both routers removed the gates and reported their counters)`);
  }

  close() {
    for (const child of this.children) child.kill('SIGKILL');
    this.lab?.close();
    rmSync(this.temp, { recursive: true, force: true });
  }
}

async function main() {
  for (const tool of ['mosquitto_sub', 'mosquitto_pub']) {
    if (!has(tool)) {
      process.stderr.write(`callqos demo: the routers' MQTT link needs ${tool} (Debian/Ubuntu: apt-get install mosquitto-clients; OpenWrt: mosquitto-client-ssl)\n`);
      return 1;
    }
  }
  const [cloud, agent] = await Promise.all([buildCloudBundle(join(root, 'dist', 'demo', 'callqos-cloud.mjs')), buildNodeAgentBundle(join(root, 'dist', 'demo', 'callqos-agent-node.mjs'))]);
  const demo = new Demo();
  const stop = () => {
    demo.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Piped into `head`, say: stop cleanly when nobody reads any more.
  process.stdout.on('error', stop);
  try {
    await demo.startCloud(cloud.file);
    await demo.startRouters(agent.file);
    for (let i = 1; CALLS === 0 || i <= CALLS; i += 1) {
      const next = Date.now() + EVERY_MS;
      await demo.call(i);
      if (CALLS === 0 || i < CALLS) await sleep(Math.max(0, next - Date.now()));
    }
    return 0;
  } finally {
    demo.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`callqos demo: ${err.message}\n`);
    process.exit(1);
  },
);
