// The command service on a real SQLite fleet store and the real outbox, the router played by the
// test: what goes out and when, results matched by corr, deadlines, the diagnostics parts asked
// for in turn, a rotation's broker side, the server's own refusals, and the audit log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandService } from '../../../src/cloud/fleet/commands.ts';
import { MemoryIdentities } from '../../../src/cloud/fleet/memory-fleet.test-support.ts';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import type { FleetDevice, FleetStore } from '../../../src/cloud/fleet/store/types.ts';
import { Outbox } from '../../../src/cloud/server/outbox.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { createLogger } from '../../../src/core/log.ts';
import { decodeMessage, makeMessage, type BodyOf, type Message, type MessageType } from '../../../src/core/protocol/envelope.ts';

const quiet = createLogger(() => undefined, 'error');
const actor = { name: 'operator:olga', domain: null };
const T0 = 1_800_000_000_000;

function fleetDevice(deviceId: string, state: FleetDevice['state']): FleetDevice {
  return {
    deviceId, hardwareId: `hw-${deviceId}`, group: 'g', name: deviceId, tags: [], site: null, state, stateReason: null, keyId: 'k', hostname: null,
    hardware: { model: 'm', boardName: 'b', release: 'r', target: 't', kernel: 'k' }, versions: { agent: '0.1.0', quickjs: '2021-03-27' },
    features: { cake: false, fqCodel: false, ctinfo: false, flowOffload: false, nft: '1.0.6' },
    sourceAddress: null, requestedAtMs: 1, enrolledAtMs: 2, updatedAtMs: 2, enrolments: 1,
  };
}

describe('the command service', () => {
  let store: Store;
  let fleet: FleetStore;
  let identities: MemoryIdentities;
  let service: CommandService;
  let now = T0;
  let seq = 0;
  const published: Message[] = [];

  /** The router's message to the server. */
  const fromRouter = async <T extends MessageType>(device: string, type: T, body: BodyOf<T>, corr?: string) => {
    seq += 1;
    const header = { id: `${device}:1:${seq}`, device, session: 1, seq, ts: now };
    const m = makeMessage(type, corr === undefined ? header : { ...header, corr }, body);
    if (!m.ok) throw new Error(m.error.message);
    let passed = false;
    await service.fromDevice(device, m.value, async () => void (passed = true));
    return passed;
  };
  /** The device each published message went to (from its downlink topic). */
  const topics = new Map<string, string>();
  const commandsTo = (device: string) => published.filter((m) => m.type === 'command' && topics.get(m.id) === device);
  const back = (device: string) => fromRouter(device, 'sync.request', { version: 0, part: { index: 0, count: 1 }, gates: [] });

  beforeEach(async () => {
    store = await openStore('sqlite::memory:');
    await store.migrate();
    fleet = openFleetStore(store);
    await fleet.migrate();
    identities = new MemoryIdentities();
    published.length = 0;
    topics.clear();
    now = T0;
    const outbox = new Outbox({
      publish: (topic, text) => {
        const m = decodeMessage(text);
        if (!m.ok) throw new Error(m.error.message);
        published.push(m.value);
        topics.set(m.value.id, topic.split('/')[3]!);
      },
    }, quiet, 'srv', 1, () => now);
    service = new CommandService({ fleet, store, identities, send: (device, body) => outbox.toDevice(device, 'command', body), log: quiet, now: () => now });
    for (const [id, state] of [['rt1', 'accepted'], ['rt-rev', 'revoked'], ['rt-pend', 'approved']] as const) await fleet.putFleetDevice(fleetDevice(id, state));
  });
  afterEach(() => store.close());

  it('refuses what the server can tell is wrong before storing anything', async () => {
    expect(await service.submit(actor, 'operator', 'nobody', { name: 'status' })).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND', path: 'params.id' } });
    expect(await service.submit(actor, 'admin', 'rt-rev', { name: 'status' })).toMatchObject({ ok: false, error: { code: 'E_STATE' } });
    expect(await service.submit(actor, 'operator', 'rt1', { name: 'rotate-credentials' })).toMatchObject({ ok: false, error: { code: 'E_FORBIDDEN', path: 'body.name' } });
    expect(await service.submit(actor, 'admin', 'rt-pend', { name: 'rotate-credentials' })).toMatchObject({ ok: false, error: { code: 'E_STATE' } });
    expect(await service.list('rt1', 10)).toEqual([]);
  });

  it('queues for an offline router, sends when it is back, takes the result by corr only from that router', async () => {
    const queued = await service.submit(actor, 'operator', 'rt1', { name: 'gates', deadlineS: 30 });
    if (!queued.ok) throw new Error(queued.error.message);
    expect(queued.value).toMatchObject({ state: 'queued', deadlineMs: T0 + 30_000, createdBy: 'operator:olga' });
    expect(published).toEqual([]);
    // An open alone does not send it (the downlink may not be subscribed yet); the sync request after the accept does.
    expect(await fromRouter('rt1', 'keepalive', {})).toBe(true);
    expect(published).toEqual([]);
    await back('rt1');
    expect(commandsTo('rt1')).toHaveLength(1);
    const sent = commandsTo('rt1')[0]!;
    expect(sent.body).toEqual({ name: 'gates', args: {} });
    expect((await service.get(queued.value.id))).toMatchObject({ state: 'sent', messageId: sent.id, sentAtMs: T0 });
    // A result naming it from another router, or naming nothing known: ignored; not passed to the device link either.
    expect(await fromRouter('rt-other', 'result', { ok: true, data: { gates: ['x'] } }, sent.id)).toBe(false);
    await fromRouter('rt1', 'result', { ok: true, data: null }, 'srv:1:999');
    expect((await service.get(queued.value.id))!.state).toBe('sent');
    now += 100;
    await fromRouter('rt1', 'result', { ok: true, data: { gates: [] } }, sent.id);
    expect(await service.get(queued.value.id)).toMatchObject({ state: 'succeeded', finishedAtMs: T0 + 100, data: { gates: [] } });
    // Sent again at the next return? No: it is done.
    await back('rt1');
    expect(commandsTo('rt1')).toHaveLength(1);
    const audit = await fleet.listAudit({ limit: 10, target: 'device:rt1' });
    expect(audit.map((a) => a.action)).toEqual(['command.gates.succeeded', 'command.gates']);
    expect(audit[0]).toMatchObject({ actor: 'operator:olga', after: { command: queued.value.id, args: {}, state: 'succeeded' } });
  });

  it('expires a queued command and times out a sent one at the deadline; a failure keeps the router\'s error', async () => {
    const a = await service.submit(actor, 'operator', 'rt1', { name: 'status', deadlineS: 5 });
    await back('rt1');
    const b = await service.submit(actor, 'operator', 'rt1', { name: 'stats', deadlineS: 5 });
    if (!a.ok || !b.ok) throw new Error('refused');
    // rt1 has no presence row, so b stays queued; a went out at the return.
    expect((await service.get(a.value.id))!.state).toBe('sent');
    now += 4_999;
    await service.sweep();
    expect((await service.get(b.value.id))!.state).toBe('queued');
    now += 1;
    await service.sweep();
    expect(await service.get(a.value.id)).toMatchObject({ state: 'timed-out', error: { code: 'E_TIMEOUT' } });
    expect(await service.get(b.value.id)).toMatchObject({ state: 'expired', sentAtMs: null, error: { code: 'E_EXPIRED' } });
    const c = await service.submit(actor, 'operator', 'rt1', { name: 'test-gate', args: { lanPort: '0' } });
    await back('rt1');
    if (!c.ok) throw new Error('refused');
    await fromRouter('rt1', 'result', { ok: false, error: { code: 'E_ARG', message: 'argument lanPort: must be from 1 to 65535, not 0' } }, commandsTo('rt1').at(-1)!.id);
    expect(await service.get(c.value.id)).toMatchObject({ state: 'failed', error: { code: 'E_ARG', message: 'argument lanPort: must be from 1 to 65535, not 0' } });
  });

  it('diagnostics: asks for each part in turn and keeps them together; a part out of order fails it', async () => {
    const d = await service.submit(actor, 'operator', 'rt1', { name: 'diagnostics' });
    if (!d.ok) throw new Error('refused');
    await back('rt1');
    for (let part = 0; part < 3; part++) {
      const asked = commandsTo('rt1').at(-1)!;
      expect(asked.body).toEqual({ name: 'diagnostics', args: { part: String(part) } });
      await fromRouter('rt1', 'result', { ok: true, data: { part, parts: 3, name: `s${part}`, text: `text ${part}\n` } }, asked.id);
      expect((await service.get(d.value.id))!.state).toBe(part < 2 ? 'acknowledged' : 'succeeded');
    }
    expect((await service.get(d.value.id))!.data).toEqual({ parts: [0, 1, 2].map((part) => ({ part, name: `s${part}`, text: `text ${part}\n` })) });

    const e = await service.submit(actor, 'operator', 'rt1', { name: 'diagnostics' });
    if (!e.ok) throw new Error('refused');
    await back('rt1');
    await fromRouter('rt1', 'result', { ok: true, data: { part: 1, parts: 3, name: 'x', text: '' } }, commandsTo('rt1').at(-1)!.id);
    expect(await service.get(e.value.id)).toMatchObject({ state: 'failed', error: { code: 'E_RESULT' } });
  });

  it('rotate-credentials: the new password to the broker, never to the store; succeeded when the router is back', async () => {
    const r = await service.submit(actor, 'admin', 'rt1', { name: 'rotate-credentials' });
    if (!r.ok) throw new Error('refused');
    await back('rt1');
    const password = 'Abcdefghijklmnopqrstuvwxyz012345';
    await fromRouter('rt1', 'result', { ok: true, data: { password } }, commandsTo('rt1').at(-1)!.id);
    expect(identities.logins.get('rt1')).toEqual({ password, enabled: true });
    expect((await service.get(r.value.id))!.state).toBe('acknowledged');
    await back('rt1');
    const done = (await service.get(r.value.id))!;
    expect(done.state).toBe('succeeded');
    expect(JSON.stringify(done)).not.toContain(password);
    expect(JSON.stringify(await fleet.listAudit({ limit: 20 }))).not.toContain(password);

    // The broker refusing the change fails the command (the router keeps its current password).
    identities.failCode = 'E_BROKER';
    const f = await service.submit(actor, 'admin', 'rt1', { name: 'rotate-credentials' });
    if (!f.ok) throw new Error('refused');
    await back('rt1');
    await fromRouter('rt1', 'result', { ok: true, data: { password } }, commandsTo('rt1').at(-1)!.id);
    expect(await service.get(f.value.id)).toMatchObject({ state: 'failed', error: { code: 'E_BROKER' } });
    // A result without a usable password fails it too.
    identities.failCode = null;
    const g = await service.submit(actor, 'admin', 'rt1', { name: 'rotate-credentials' });
    if (!g.ok) throw new Error('refused');
    await back('rt1');
    await fromRouter('rt1', 'result', { ok: true, data: { password: 'short' } }, commandsTo('rt1').at(-1)!.id);
    expect(await service.get(g.value.id)).toMatchObject({ state: 'failed', error: { code: 'E_RESULT' } });
  });
});
