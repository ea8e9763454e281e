/**
 * The SIP proxy asking the real QoS control server over MQTT (embedded broker), for a call whose
 * two ends are private and behind no router of the server's: the server answers `rejected` with a
 * reason cut to the schema, so the proxy learns it at once and lets the callee's 200 OK go on,
 * rather than holding it for its whole session timeout while the answer never comes.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { connectServerMqtt, type ServerMqttClient } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { SipProxy } from '../../../src/cloud/sip/proxy.ts';
import { Registrar } from '../../../src/cloud/sip/registrar.ts';
import { MqttSessionClient } from '../../../src/cloud/sip/session-client.ts';
import { TransactionLayer } from '../../../src/cloud/sip/transactions.ts';
import { SipTransport } from '../../../src/cloud/sip/transport.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { createLogger } from '../../../src/core/log.ts';
import { headerValue, headerValues } from '../../../src/core/sip/message.ts';
import { makeTempDir } from '../../support/temp.ts';
import { isReq, isRes, Phone, sdp } from './phone.ts';

const quiet = { info: () => {}, warn: () => {} };
/** The proxy's wait for the session API: far longer than an answer takes, so a silence shows. */
const SESSION_TIMEOUT_MS = 10_000;

describe('SIP proxy and QoS server: a call with two private ends', () => {
  const temp = makeTempDir('proxy-qos-answer');
  let broker: EmbeddedBroker;
  let store: Store;
  let server: QosServer;
  let proxyBus: ServerMqttClient;
  let transport: SipTransport;
  const logs: string[] = [];
  const alice = new Phone('alice');
  const bob = new Phone('bob');
  let P = 0;

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    store = await openStore(`sqlite:${join(temp.path, 'callqos.db')}`);
    await store.migrate();
    const serverBus = await connectServerMqtt({ url, clientId: 'qos-server-1', log: quiet });
    server = new QosServer({ config: { ...DEFAULT_CONFIG, httpPort: null }, store, bus: serverBus, planner: controlPlanner(), admit: admissionCheck, log: createLogger(() => {}) });
    await server.start();

    const log = createLogger((l) => logs.push(l), 'debug');
    proxyBus = await connectServerMqtt({ url, clientId: 'sip-proxy-1', log: quiet });
    const sessions = await MqttSessionClient.connect(proxyBus, 'sip-proxy-1', SESSION_TIMEOUT_MS, log);
    transport = await SipTransport.listen('127.0.0.1', 0, log);
    P = transport.port;
    const transactions = new TransactionLayer(transport, `127.0.0.1:${P}`, { t1: 100, t2: 400, proceedingMs: 5000 });
    const registrar = new Registrar({ maxExpiresS: 3600, defaultExpiresS: 3600, now: Date.now });
    new SipProxy(transport, transactions, registrar, sessions, { address: { host: '127.0.0.1', port: P }, domains: ['a.example'], qos: 'hold', dialogTimeoutMs: 60_000, unauthorized: 'best-effort' }, log);
    for (const phone of [alice, bob]) {
      await phone.open();
      phone.send(`REGISTER sip:a.example SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK-reg-${phone.user};rport
Max-Forwards: 70
From: <sip:${phone.user}@a.example>;tag=r1
To: <sip:${phone.user}@a.example>
Call-ID: reg-${phone.user}@test
CSeq: 1 REGISTER
Contact: <sip:${phone.user}@127.0.0.1:${phone.port}>
Expires: 600
Content-Length: 0

`, P);
      await phone.wait(isRes(200, 'REGISTER'), 5000);
    }
  });

  afterAll(async () => {
    alice.close();
    bob.close();
    await transport.close();
    await proxyBus.close();
    await server.stop();
    await store.close();
    await broker.close();
    temp.remove();
  });

  it('gets the server\'s rejection and sends the held 200 on, well before its session timeout', async () => {
    const offer = sdp('192.168.1.20', 40000);
    alice.send(`INVITE sip:bob@a.example SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-private-1;rport
Max-Forwards: 70
From: "Alice" <sip:alice@a.example>;tag=alice-1
To: <sip:bob@a.example>
Call-ID: private-ends-1
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:${alice.port}>
Content-Type: application/sdp
Content-Length: ${offer.length}

${offer}`, P);
    const invite = await bob.wait(isReq('INVITE'), 5000);
    const answer = sdp('192.168.2.30', 50000);
    const vias = headerValues(invite, 'Via').map((v) => `Via: ${v}`).join('\n');
    const routes = headerValues(invite, 'Record-Route').map((v) => `Record-Route: ${v}`).join('\n');
    bob.send(`SIP/2.0 200 OK
${vias}
${routes}
From: ${headerValue(invite, 'From')}
To: ${headerValue(invite, 'To')};tag=bob-1
Call-ID: private-ends-1
CSeq: 1 INVITE
Contact: <sip:bob@127.0.0.1:${bob.port}>
Content-Type: application/sdp
Content-Length: ${answer.length}

${answer}`, P);
    // Before, the answer could not be built and never came: the 200 waited the whole session timeout.
    await alice.wait(isRes(200, 'INVITE'), SESSION_TIMEOUT_MS / 2);
    const qos = logs.find((l) => l.includes('QoS for call') && l.includes('call=private-ends-1'));
    expect(qos).toMatch(/state=rejected/);
    expect(qos).toMatch(/reason="E_NO_ROUTER: no router found for either end: offer: media address 192\.168\.1\.20 is private/);
    expect(logs.some((l) => l.includes('session API did not answer'))).toBe(false);
  });
});
