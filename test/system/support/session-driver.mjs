// Adds (or deletes) many sessions through the HTTP session API, several at a time, from inside
// the cloud namespace (the server listens on its loopback). Each call's phone ports are distinct:
// phone A 192.168.1.20 port base+2i, phone B 198.18.20.20 port base+2i+1. Prints one JSON line:
// how many answers were in each state, and how many requests failed (a killed server).
//
//   node session-driver.mjs <http base> add|delete <call id prefix> <count> <port base> <concurrency>
import http from 'node:http';

const [base, mode, prefix, countText, portText, concurrencyText] = process.argv.slice(2);
const count = Number(countText);
const portBase = Number(portText);
const concurrency = Number(concurrencyText);

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = http.request(`${base}${path}`, { method, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let answer = '';
      res.on('data', (d) => (answer += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(answer));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('socket', (socket) => socket.setNoDelay(true));
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.end(text);
  });
}

const call = (i) => ({
  callId: `${prefix}-${i}@lab`,
  caller: { source: '203.0.113.1' },
  callee: { source: '198.51.100.1' },
  wait: true,
  media: [{
    line: 0, type: 'audio', direction: 'sendrecv',
    offer: { address: '192.168.1.20', port: portBase + 2 * i },
    answer: { address: '198.18.20.20', port: portBase + 2 * i + 1 },
    codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 },
  }],
});

const states = {};
let failedRequests = 0;
let next = 0;
const started = performance.now();
async function worker() {
  while (next < count) {
    const i = next++;
    try {
      const body = call(i);
      const answer = mode === 'delete' ? await request('DELETE', `/v1/sessions/${encodeURIComponent(body.callId)}`) : await request('POST', '/v1/sessions', body);
      const key = answer.state ?? `error ${answer.error?.code}`;
      states[key] = (states[key] ?? 0) + 1;
    } catch {
      failedRequests += 1;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
agent.destroy();
console.log(JSON.stringify({ states, failedRequests, ms: Math.round(performance.now() - started) }));
