// Runs inside the cloud namespace for bench/setup-latency.mjs (which starts it): first the floor's
// broker round trip (publish to a topic a router echoes back, through the same Mosquitto), then
// the sessions: each added with wait=true through the HTTP API and timed until the answer says
// `active` (both routers reported their gates), then deleted, and polled until `ended` (both
// routers reported the removal and its usage) before the next one starts: otherwise a setup would
// queue on the routers behind the previous call's removal and measure both. Prints one JSON line.
import http from 'node:http';
import mqtt from 'mqtt';

// A call-control client as Kamailio's or curl's: keep-alive, and no Nagle (a POST's body would
// otherwise wait for the ACK of its headers, 40 ms of delayed ACK).
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
agent.on('free', (socket) => socket.setNoDelay(true));
function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('socket', (socket) => socket.setNoDelay(true));
    req.on('error', reject);
    req.end(body);
  });
}

const [broker, httpBase, countText, rtText] = process.argv.slice(2);
const SESSIONS = Number(countText);
const ROUND_TRIPS = Number(rtText);

async function roundTrips() {
  const client = await mqtt.connectAsync(broker, { clientId: 'bench-rt', protocolVersion: 5 });
  client.stream.setNoDelay?.(true);
  await client.subscribeAsync('bench/echo/out', { qos: 1 });
  const times = [];
  let waiting = null;
  client.on('message', () => waiting?.());
  for (let i = 0; i < ROUND_TRIPS; i += 1) {
    const started = performance.now();
    await new Promise((resolve) => {
      waiting = resolve;
      client.publish('bench/echo/in', `ping ${i}`, { qos: 1 });
    });
    times.push(performance.now() - started);
  }
  await client.endAsync();
  return times;
}

function session(i) {
  const port = 10000 + (i % 20000) * 2;
  return {
    callId: `bench-${i}@lab`,
    // The routers' WAN addresses, as call control would see the signalling come from them.
    caller: { source: '10.99.1.2' },
    callee: { source: '10.99.2.2' },
    wait: true,
    media: [{ line: 0, type: 'audio', direction: 'sendrecv', offer: { address: '198.18.1.20', port }, answer: { address: '198.18.2.20', port: port + 1 }, codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
  };
}

async function sessions() {
  const setup = [];
  const teardown = [];
  const removal = [];
  let notActive = 0;
  let firstFailure = null;
  for (let i = 0; i < SESSIONS; i += 1) {
    const body = session(i);
    let started = performance.now();
    const state = await request('POST', `${httpBase}/v1/sessions`, JSON.stringify(body));
    setup.push(performance.now() - started);
    if (state.state !== 'active') {
      notActive += 1;
      firstFailure ??= state;
    }
    if (process.env.CALLQOS_BENCH_KEEP) continue;
    started = performance.now();
    const path = `${httpBase}/v1/sessions/${encodeURIComponent(body.callId)}`;
    let ended = await request('DELETE', path);
    teardown.push(performance.now() - started);
    // Bounded: the server fails a removal nobody reports within its deadline (2 s by default).
    for (let polls = 0; ended.state !== 'ended' && polls < 5000; polls += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      ended = await request('GET', path);
    }
    if (ended.state !== 'ended') throw new Error(`${body.callId} did not end: ${JSON.stringify(ended).slice(0, 300)}`);
    removal.push(performance.now() - started);
  }
  return { setup, teardown, removal, notActive, firstFailure };
}

const rt = await roundTrips();
const s = await sessions();
console.log(JSON.stringify({ roundTrips: rt, ...s }));
