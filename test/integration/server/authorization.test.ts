/**
 * The QoS control server with the clearinghouse, in-process on the embedded broker with SQLite and
 * two scripted routers: a call gets QoS only when authorized (the clearinghouse's yes, or a valid
 * token call control presents); forged, expired, replayed and unbound tokens give best effort with
 * the reason; at the end the routers' counters reach the clearinghouse as one rated CDR; a
 * clearinghouse that does not answer refuses QoS under `required` and allows it under `optional`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../support/wait.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { generateSigningKey, loadPublicKeys, type SigningKey } from '../../../src/cloud/clearinghouse/keys.ts';
import { startClearinghouse, type ClearinghouseNode } from '../../../src/cloud/clearinghouse/node.ts';
import { parsePolicy } from '../../../src/cloud/clearinghouse/policy.ts';
import { openClearinghouseStore, type ClearinghouseStore } from '../../../src/cloud/clearinghouse/store/index.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { assembleToken, tokenSigningInput, type TokenClaims } from '../../../src/core/clearinghouse/token.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { SessionAddBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { makeTempDir } from '../../support/temp.ts';
import { lanInterfaces, ScriptedRouter } from './scripted-router.ts';

const quiet = { info: () => {}, warn: () => {} };
const CALLER = 'sip:alice@a.example';
const CALLEE = 'sip:bob@a.example';

function call(callId: string, port: number, token?: string): SessionAddBody {
  return {
    callId,
    caller: { source: '203.0.113.1', uri: CALLER },
    callee: { source: '198.51.100.1', uri: CALLEE },
    media: [{ line: 0, type: 'audio', offer: { address: '192.168.1.20', port }, answer: { address: '198.18.20.20', port: port + 1000 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    wait: true,
    ...(token !== undefined ? { token } : {}),
  };
}

describe('QoS control server with the clearinghouse (embedded broker, SQLite, scripted routers)', () => {
  const temp = makeTempDir('authorization');
  let broker: EmbeddedBroker;
  let url = '';
  let key: SigningKey;
  let store: Store;
  let chStore: ClearinghouseStore;
  let clearinghouse: ClearinghouseNode | null = null;
  let server: QosServer;
  let base = '';
  const logs: string[] = [];
  const rtA = new ScriptedRouter('rtA');
  const rtB = new ScriptedRouter('rtB');

  async function startServer(authorization: ServerConfig['authorization']): Promise<void> {
    store = await openStore(`sqlite:${join(temp.path, 'callqos.db')}`);
    await store.migrate();
    const bus = await connectServerMqtt({ url, clientId: 'qos-a', log: quiet });
    const config: ServerConfig = { ...DEFAULT_CONFIG, serverId: 'qos-a', domain: 'domain-a', httpPort: 0, authorization, clearinghouseTimeoutMs: 400, decisionDeadlineMs: 800, removalDeadlineMs: 800 };
    const verifierFor = loadPublicKeys(join(temp.path, 'ch-keys.json'));
    server = new QosServer({ config, store, bus, planner: controlPlanner(), admit: admissionCheck, log: createLogger((l) => logs.push(l), 'debug'), verifierFor });
    const { http } = await server.start();
    base = `http://127.0.0.1:${http!.port}`;
  }

  async function startClearinghouseNode(): Promise<void> {
    const policy = parsePolicy({ domains: [{ id: 'domain-a', clients: ['qos-a'], maxKbpsPerFlow: 100 }] });
    const bus = await connectServerMqtt({ url, clientId: 'ch-1', log: quiet });
    clearinghouse = await startClearinghouse({ id: 'ch-1', bus, store: chStore, key, policy, log: createLogger(() => {}, 'error') });
  }

  const post = async (body: SessionAddBody): Promise<SessionStateBody> => (await fetch(`${base}/v1/sessions`, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<SessionStateBody>;
  const del = async (callId: string, extra: Record<string, unknown> = {}): Promise<SessionStateBody> =>
    (await fetch(`${base}/v1/sessions/${encodeURIComponent(callId)}`, { method: 'DELETE', body: JSON.stringify({ callId, ...extra }) })).json() as Promise<SessionStateBody>;

  /** A token as the clearinghouse would issue it, with claims the test chooses. */
  function token(callId: string, port: number, change: Partial<TokenClaims> = {}, signer = key): string {
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = {
      iss: 'ch-1', aud: 'domain-a', jti: `test-${callId}`, iat: now, nbf: now, exp: now + 60, call: callId, from: CALLER, to: CALLEE,
      flows: [{ line: 0, offer: { address: '192.168.1.20', port }, answer: { address: '198.18.20.20', port: port + 1000 }, dscp: 46, kbps: 80 }],
      maxs: 3600, ...change,
    };
    const input = tokenSigningInput(signer.kid, claims);
    if (!input.ok) throw new Error(input.error.message);
    return assembleToken(input.value, signer.sign(new TextEncoder().encode(input.value)));
  }

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
    url = `mqtt://127.0.0.1:${broker.port}`;
    key = generateSigningKey('ch-1', join(temp.path, 'ch.pem'), join(temp.path, 'ch-keys.json'));
    chStore = openClearinghouseStore(`sqlite:${join(temp.path, 'ch.db')}`);
    await chStore.migrate();
    await startClearinghouseNode();
    await startServer('required');
    for (const [router, lan4, lan6, wan] of [[rtA, '192.168.1.1', '2001:db8:a:1::1', '203.0.113.1'], [rtB, '198.18.20.1', '2001:db8:b:1::1', '198.51.100.1']] as const) {
      await router.connect(url);
      await router.open(lanInterfaces(lan4, lan6, wan));
      // The caller's router sent 1000 packets, the callee's received 997 of them; the other way 990, all arrived.
      router.removalUsage = () =>
        router === rtA ? { up: { packets: 1000, bytes: 172_000 }, down: { packets: 990, bytes: 170_280 } } : { up: { packets: 990, bytes: 170_280 }, down: { packets: 997, bytes: 171_484 } };
    }
  });

  afterAll(async () => {
    await rtA.close();
    await rtB.close();
    await server.stop();
    await store.close();
    await clearinghouse?.stop();
    await chStore.close();
    await broker.close();
    temp.remove();
  });

  it('asks the clearinghouse, installs once authorized, and hands call control the token', async () => {
    const state = await post(call('call-1', 41000));
    expect(state).toMatchObject({ state: 'active', reason: null });
    expect(state.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const auth = await store.getAuthorization('call-1');
    expect(auth).toMatchObject({ source: 'clearinghouse', token: state.token, maxDurationS: 14_400 });
    expect(await chStore.getTransaction(auth!.transactionId)).toMatchObject({ domain: 'domain-a', callId: 'call-1', caller: CALLER, callee: CALLEE, flows: [{ line: 0, dscp: 46, kbps: 80 }] });
  });

  it('reports the ended call\'s usage once, with who released it and what each direction carried and lost', async () => {
    const auth = (await store.getAuthorization('call-1'))!;
    await del('call-1', { releasedBy: 'callee', sipStatus: 200, reason: 'BYE' });
    await until(async () => (await chStore.getCdr(auth.transactionId)) !== null);
    const cdr = (await chStore.getCdr(auth.transactionId))!;
    expect(cdr).toMatchObject({ side: 'source', callId: 'call-1', releasedBy: 'callee', sipStatus: 200, reason: 'BYE', codec: 'PCMU', serviceClass: 'voice' });
    expect(cdr.flows).toEqual([
      { line: 0, direction: 'forward', packets: 1000, bytes: 172_000, lost: 3 },
      { line: 0, direction: 'reverse', packets: 990, bytes: 170_280, lost: 0 },
    ]);
    expect(cdr.connectMs).not.toBeNull();
    expect(cdr.endMs).toBeGreaterThanOrEqual(cdr.connectMs!);
    await until(async () => (await store.getAuthorization('call-1'))?.usageConfirmedAtMs !== null);
    expect(await store.listUnconfirmedUsage()).toEqual([]);
  });

  it('gives best effort with the clearinghouse\'s reason when it refuses, and installs nothing', async () => {
    const before = rtA.received.filter((m) => m.type === 'decision.install').length;
    // Positive control: G.711 in 10 ms packets is 96 kbit/s with headers, within the limit of 100.
    const within = call('call-10ms', 42000);
    within.media = [{ ...within.media[0]!, codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 10 } }];
    expect((await post(within)).state).toBe('active');
    const big = call('call-big', 43000);
    big.media = [{ ...big.media[0]!, codec: { name: 'L16', clockRate: 16000, bandwidthKbps: 256 } }];
    const refused = await post(big);
    expect(refused).toMatchObject({ state: 'rejected' });
    expect(refused.reason).toMatch(/^E_NOT_AUTHORIZED: media line 0 asks for \d+ kbit\/s, more than 100 allowed per flow$/);
    expect(rtA.received.filter((m) => m.type === 'decision.install').length).toBe(before + 1);
    expect(await store.getAuthorization('call-big')).toBeNull();
  });

  it('takes a valid token without asking, and refuses forged, expired, unbound and replayed tokens with the reason', async () => {
    const asked = (await chStore.listCdrs()).length; // the clearinghouse is not involved: nothing new there
    const good = await post(call('call-t', 44000, token('call-t', 44000)));
    expect(good).toMatchObject({ state: 'active' });
    expect(await store.getAuthorization('call-t')).toMatchObject({ source: 'token', transactionId: 'test-call-t' });

    const other = generateSigningKey('ch-1', join(temp.path, 'other.pem'), join(temp.path, 'other.json'));
    const forged = await post(call('call-f', 45000, token('call-f', 45000, {}, { ...other, kid: key.kid })));
    expect(forged.state).toBe('rejected');
    expect(forged.reason).toMatch(/^E_NOT_AUTHORIZED: token refused: E_TOKEN_SIGNATURE/);

    const expired = await post(call('call-e', 46000, token('call-e', 46000, { nbf: 1_000_000, exp: 1_000_100 })));
    expect(expired.reason).toMatch(/^E_NOT_AUTHORIZED: token refused: E_TOKEN_EXPIRED/);

    const unbound = await post(call('call-u', 47000, token('call-u', 47000, { flows: [{ line: 0, offer: { address: '192.168.1.20', port: 47000 }, answer: { address: '198.18.20.20', port: 9 }, dscp: 46, kbps: 80 }] })));
    expect(unbound.reason).toMatch(/^E_NOT_AUTHORIZED: token refused: E_TOKEN_BINDING: media line 0 runs between other addresses/);

    // The same token (same transaction) for a second call: a replay.
    const replayed = await post(call('call-t2', 44000, token('call-t2', 44000, { jti: 'test-call-t' })));
    expect(replayed.reason).toBe('E_NOT_AUTHORIZED: token refused: E_TOKEN_REPLAYED: transaction test-call-t was used by another call');

    // A bare signature where a token should be: unsigned.
    const [h, c] = token('call-n', 48000).split('.');
    expect((await post(call('call-n', 48000, `${h}.${c}.`))).reason).toMatch(/^E_NOT_AUTHORIZED: token refused: E_TOKEN_UNSIGNED/);
    expect((await chStore.listCdrs()).length).toBe(asked);
    expect(logs.filter((l) => l.includes('session not authorized')).length).toBeGreaterThanOrEqual(5);
    // Nothing unauthorized reached a router.
    for (const id of ['call-f', 'call-e', 'call-u', 'call-t2', 'call-n']) expect([...rtA.gates.values()].some((g) => g.session === id)).toBe(false);
  });

  it('refuses QoS when the clearinghouse does not answer (required), and gives it unauthorized under optional', async () => {
    await clearinghouse!.stop();
    clearinghouse = null;
    const refused = await post(call('call-down', 49000));
    expect(refused).toMatchObject({ state: 'rejected' });
    expect(refused.reason).toMatch(/^E_NOT_AUTHORIZED: the clearinghouse did not answer auth.request within 400 ms$/);

    await server.stop();
    await store.close();
    await startServer('optional');
    const allowed = await post(call('call-opt', 50000));
    expect(allowed).toMatchObject({ state: 'active' });
    expect(allowed.token).toBeUndefined();
    expect(logs.some((l) => l.includes('QoS given unauthorized'))).toBe(true);
    await startClearinghouseNode();
  });
});
