// Simulated routers for the control-plane benchmarks: each is one MQTT connection (MQTT.js, no
// Nagle) that speaks the device side of the protocol as the agent does: open, interface report,
// sync; decisions answered at once (install: report.success; remove: final usage, then
// report.success). Addresses come from the IPv6 documentation prefix: router i holds LAN
// 2001:db8:<i>:1::/64 and WAN 2001:db8:ffff:<i>::1, so any two routers can carry a call.
//
//   node sim-devices.mjs <broker url> <first index> <count> [connects at once]
//
// Prints `ready <n> <ms>` once every router has synchronised, then `resynced <n> <ms>` each time
// all of them have synchronised again after a new round began, and `stats <decisions>` every
// second. Input lines: `round` starts a round (the bench is about to restart the broker, say);
// `reconnect` starts one and drops every connection at once.
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';

const [brokerUrl, firstText, countText, burstText] = process.argv.slice(2);
const first = Number(firstText);
const count = Number(countText);
const burst = Number(burstText ?? 200);

const deviceId = (i) => `sim${String(i).padStart(5, '0')}`;
const hex = (i) => i.toString(16);

class SimDevice {
  constructor(index) {
    this.index = index;
    this.id = deviceId(index);
    this.boot = 1;
    this.seq = 0;
    this.synced = false;
    this.openId = null;
  }

  message(type, body, corr) {
    this.seq += 1;
    const m = { v: 1, type, id: `${this.id}:${this.boot}:${this.seq}`, device: this.id, session: this.boot, seq: this.seq, ts: Date.now(), body };
    if (corr !== undefined) m.corr = corr;
    return m;
  }

  send(type, body, corr) {
    const m = this.message(type, body, corr);
    this.client.publish(`callqos/v1/dev/${this.id}/up`, JSON.stringify(m), { qos: 1 });
    return m;
  }

  connect(onSynced) {
    this.onSynced = onSynced;
    this.client = mqtt.connect(brokerUrl, {
      clientId: `${this.id}-b${this.boot}`, protocolVersion: 4, clean: true, keepalive: 60, reconnectPeriod: 1000, connectTimeout: 30_000,
      will: { topic: `callqos/v1/dev/${this.id}/status`, payload: JSON.stringify(this.message('status', { state: 'offline', agentVersion: 'sim', since: Date.now() })), qos: 1, retain: true },
    });
    this.client.on('connect', () => {
      this.client.stream.setNoDelay?.(true);
      this.synced = false;
      this.client.subscribe([`callqos/v1/dev/${this.id}/down`], { qos: 1 }, () => {
        this.openId = this.send('open', {
          agentVersion: 'sim', board: { model: 'sim', name: 'sim', release: 'sim', target: 'sim' },
          capabilities: { queues: ['htb'], ipv6: true, maxGates: 4096 }, link: { upKbps: 1_000_000, downKbps: 1_000_000, efBudgetPercent: 30 }, keepaliveS: 60,
        }).id;
      });
    });
    this.client.on('message', (_topic, payload) => this.receive(JSON.parse(payload.toString())));
    this.client.on('error', () => {});
  }

  receive(m) {
    if (m.type === 'accept' && m.corr === this.openId) {
      this.send('interfaces', {
        version: 1,
        interfaces: [
          { name: 'lan', device: 'br-lan', role: 'lan', up: true, ipv4: [], ipv6: [{ address: `2001:db8:${hex(this.index)}:1::1`, prefixLength: 64 }], ipv6Prefixes: [] },
          { name: 'wan', device: 'wan', role: 'wan', up: true, ipv4: [], ipv6: [{ address: `2001:db8:ffff:${hex(this.index)}::1`, prefixLength: 64 }], ipv6Prefixes: [] },
        ],
      });
      this.send('sync.request', { version: 0, part: { index: 0, count: 1 }, gates: [] });
    } else if (m.type === 'sync.complete') {
      if (m.body.part.index === m.body.part.count - 1 && !this.synced) {
        this.synced = true;
        this.onSynced(this);
      }
    } else if (m.type === 'decision.install' || m.type === 'decision.modify') {
      stats.decisions += 1;
      this.send('report.success', { version: m.body.version, gates: m.body.gates.map((g) => g.id) }, m.id);
    } else if (m.type === 'decision.remove') {
      stats.decisions += 1;
      const ended = m.body.gates.map((id) => ({ id, up: { packets: 0, bytes: 0 }, down: { packets: 0, bytes: 0 }, firstSeen: null, lastSeen: null, ended: 'removed' }));
      this.send('report.accounting', { gates: ended });
      this.send('report.success', { version: m.body.version, gates: m.body.gates }, m.id);
    }
  }
}

const stats = { decisions: 0 };
const devices = [];
let synced = 0;
let round = 0;
let roundStarted = performance.now();

function onSynced() {
  synced += 1;
  if (synced === count) {
    const ms = Math.round(performance.now() - roundStarted);
    console.log(round === 0 ? `ready ${count} ${ms}` : `resynced ${count} ${ms}`);
  }
}

// Connect in bursts: thousands of TCP handshakes at once only queue in the broker's backlog.
for (let i = 0; i < count; i += 1) {
  const device = new SimDevice(first + i);
  devices.push(device);
  device.connect(onSynced);
  if ((i + 1) % burst === 0) await new Promise((r) => setTimeout(r, 50));
}

setInterval(() => console.log(`stats ${stats.decisions}`), 1000).unref();

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command !== 'round' && command !== 'reconnect') return;
  round += 1;
  synced = 0;
  for (const d of devices) d.synced = false;
  roundStarted = performance.now();
  // Drop every connection at once; MQTT.js reconnects by itself and the device opens again.
  if (command === 'reconnect') for (const d of devices) d.client.stream.destroy();
});
