import { describe, expect, it } from 'vitest';
import type { FileHost } from '../../core/host/index.ts';
import { createLogger } from '../../core/log.ts';
import { decodeMessage, encodeMessage, makeMessage } from '../../core/protocol/envelope.ts';
import type { BodyOf, Message, MessageType } from '../../core/protocol/envelope.ts';
import type { Gate } from '../../core/protocol/messages/gates.ts';
import type { DataplaneGate } from '../../core/dataplane/model.ts';
import { fail, ok } from '../../core/result.ts';
import { FakeHost } from '../system/fake-host.test-support.ts';
import { CloudSession, toDataplaneGate } from './session.ts';
import { gateHash } from '../../core/protocol/digest.ts';

function memoryFiles(): FileHost {
  const files = new Map<string, string>();
  const missing = (path: string) => fail({ code: 'ENOENT', message: 'no file', path });
  return {
    readText: (path) => (files.has(path) ? ok(files.get(path)!) : missing(path)),
    writeAtomic: (path, text) => (files.set(path, text), ok(undefined)),
    append: (path, text) => (files.set(path, (files.get(path) ?? '') + text), ok(undefined)),
    list: () => ok([...files.keys()]),
    remove: (path) => (files.delete(path), ok(undefined)),
    exists: (path) => files.has(path),
    makeDir: () => ok(undefined),
    listenFifo: () => fail({ code: 'ENOTSUP', message: 'no FIFO', path: '' }),
  };
}

function textOf(m: Message): string {
  const text = encodeMessage(m);
  if (!text.ok) throw new Error(text.error.message);
  return text.value;
}

const gate = (id: string, port: number): Gate => ({
  id, direction: 'both', lan: { address: '192.168.1.20', port }, remote: { address: '198.18.20.20', port: port + 1 }, dscp: 46, rateKbps: 80, lifetimeS: 600, session: 'c1@x',
});

function setup(refuse: Set<string> = new Set(), held: Gate[] = []) {
  const fake = new FakeHost();
  const host = { ...fake.host, files: memoryFiles() };
  const sent: Message[] = [];
  const statuses: string[] = [];
  const installed = new Map<string, { gate: DataplaneGate; ref?: string }>(held.map((g) => [g.id, { gate: toDataplaneGate(g), ref: g.session }]));
  const adds: string[] = [];
  let serverSeq = 0;
  const session = new CloudSession(
    host,
    createLogger(() => {}, 'error'),
    {
      deviceId: 'rtA',
      bootSession: 3,
      keepaliveS: 30,
      describe: () => ({
        agentVersion: '0.1.0',
        board: { model: 'm', name: 'n', release: 'r', target: 't' },
        capabilities: { queues: ['htb'], ipv6: true, maxGates: 64 },
        link: { upKbps: 1000, downKbps: 1000, efBudgetPercent: 30 },
      }),
      interfaces: () => ({ version: 1, interfaces: [] }),
    },
    {
      cloudGates: () => [...installed.values()],
      add: async (g, ref) => {
        adds.push(g.id);
        if (refuse.has(g.id)) return fail({ code: 'E_GATE_CONFLICT', message: 'overlaps another gate' });
        installed.set(g.id, ref === undefined ? { gate: g } : { gate: g, ref });
        return ok({ replaced: false });
      },
      remove: async (id) => (installed.delete(id) ? ok({ usage: { up: { packets: 5, bytes: 500 }, down: { packets: 4, bytes: 400 } } }) : ok(null)),
    },
    {
      send: (text) => {
        const m = decodeMessage(text);
        if (!m.ok) throw new Error(`agent sent an invalid message: ${m.error.message}`);
        sent.push(m.value);
      },
      publishStatus: (text) => statuses.push(text),
      restart: () => {},
      healthy: () => {},
    },
  );
  const fromServer = async <T extends MessageType>(type: T, body: BodyOf<T>, corr?: string, seq?: number): Promise<Message> => {
    serverSeq = seq ?? serverSeq + 1;
    const header = { id: `srv:9:${serverSeq}`, device: 'qos-server-1', session: 9, seq: serverSeq, ts: 1 };
    const m = makeMessage(type, corr ? { ...header, corr } : header, body);
    if (!m.ok) throw new Error(m.error.message);
    await session.receive('callqos/v1/dev/rtA/down', textOf(m.value));
    return m.value;
  };
  return { session, sent, statuses, installed, adds, fromServer, fake };
}

describe('agent cloud session', () => {
  it('after a restart lists the daemon\'s cloud gates with the hashes the server computed for them', async () => {
    const kept = gate('g7', 5070);
    const t = setup(new Set(), [kept]);
    t.session.started();
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.at(-1)!.id);
    const request = t.sent.at(-1)!;
    expect(request).toMatchObject({ type: 'sync.request', body: { gates: [{ id: 'g7', hash: gateHash(kept) }] } });
  });

  it('opens, and after accept publishes online, reports interfaces and asks for a resync', async () => {
    const t = setup();
    t.session.started();
    const open = t.sent.at(-1)!;
    expect(open).toMatchObject({ type: 'open', device: 'rtA', session: 3, body: { link: { efBudgetPercent: 30 } } });
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, open.id);
    expect(t.statuses).toHaveLength(1);
    expect(t.sent.slice(1).map((m) => m.type)).toEqual(['interfaces', 'sync.request']);
  });

  it('installs what the resync lists and reports it, then answers decisions, replaying the answer to a repeat', async () => {
    const t = setup(new Set(['bad']));
    t.session.started();
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.at(-1)!.id);
    const sync = await t.fromServer('sync.complete', { version: 1, part: { index: 0, count: 1 }, gates: [gate('g1', 5000)] }, t.sent.at(-1)!.id);
    expect(t.installed.get('g1')?.gate.lan.port).toBe(5000);
    expect(t.installed.get('g1')?.ref).toBe('c1@x');
    expect(t.sent.at(-1)).toMatchObject({ type: 'report.success', corr: sync.id, body: { gates: ['g1'] } });

    const decision = await t.fromServer('decision.install', { version: 2, gates: [gate('g2', 5002), gate('bad', 5004)] });
    const replies = t.sent.slice(-2);
    expect(replies.map((m) => [m.type, m.corr])).toEqual([['report.success', decision.id], ['report.failure', decision.id]]);
    expect(replies[1]!.body).toMatchObject({ gates: [{ id: 'bad', code: 'E_GATE_CONFLICT' }] });
    const addsBefore = t.adds.length;
    await t.session.receive('callqos/v1/dev/rtA/down', textOf(decision));
    expect(t.adds.length).toBe(addsBefore);
    expect(t.sent.slice(-2).map((m) => m.id)).toEqual(replies.map((m) => m.id));
  });

  it('removes on decision with final usage, resynchronises on a sequence gap, and reports a gate that expired', async () => {
    const t = setup();
    t.session.started();
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.at(-1)!.id);
    await t.fromServer('sync.complete', { version: 1, part: { index: 0, count: 1 }, gates: [gate('g1', 5000), gate('g2', 5002)] }, t.sent.at(-1)!.id);
    await t.fromServer('decision.remove', { version: 2, gates: ['g1'] });
    const [accounting, success] = t.sent.slice(-2);
    expect(accounting).toMatchObject({ type: 'report.accounting', body: { gates: [{ id: 'g1', session: 'c1@x', up: { packets: 5 }, ended: 'removed' }] } });
    expect(success).toMatchObject({ type: 'report.success', body: { gates: ['g1'] } });

    const before = t.sent.length;
    await t.fromServer('keepalive', {}, undefined, 40);
    expect(t.sent.slice(before).map((m) => m.type)).toContain('sync.request');

    t.session.gateEnded('g2', { up: { packets: 9, bytes: 900 }, down: { packets: 8, bytes: 800 } }, 'expired');
    expect(t.sent.slice(-2).map((m) => m.type)).toEqual(['report.accounting', 'delete']);
    expect(t.sent.at(-1)!.body).toEqual({ gates: ['g2'], reason: 'expired' });
  });

  it('drops a malformed message from the server and goes on', async () => {
    const t = setup();
    t.session.started();
    await t.session.receive('callqos/v1/dev/rtA/down', '{"v":1,"type":"decision.install"');
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.at(-1)!.id);
    expect(t.statuses).toHaveLength(1);
  });

  it('takes an accept that answers an earlier open, once, and stops repeating opens', async () => {
    const t = setup();
    t.session.started();
    const first = t.sent.at(-1)!;
    await t.fake.advance(1_000);
    const opens = () => t.sent.filter((m) => m.type === 'open');
    expect(opens().length).toBeGreaterThanOrEqual(2);
    // A busy server answers the first open only now, and then the second.
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, first.id);
    expect(t.statuses).toHaveLength(1);
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, opens()[1]!.id);
    expect(t.sent.filter((m) => m.type === 'sync.request')).toHaveLength(1);
    const sentOpens = opens().length;
    await t.fake.advance(20_000);
    expect(opens().length).toBe(sentOpens);
  });

  it('asks again when a sync request gets no answer, and forgets a sync cut off by a reconnect', async () => {
    const t = setup();
    t.session.started();
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.at(-1)!.id);
    const syncs = () => t.sent.filter((m) => m.type === 'sync.request').length;
    expect(syncs()).toBe(1);
    await t.fake.advance(8_000);
    expect(syncs()).toBe(1);
    await t.fake.advance(5_000);
    expect(syncs()).toBe(2);
    // The link restarts before any answer: after the new accept the router syncs at once.
    t.session.started();
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.filter((m) => m.type === 'open').at(-1)!.id, 1);
    expect(syncs()).toBe(3);
    const request = t.sent.at(-1)!;
    await t.fromServer('sync.complete', { version: 1, part: { index: 0, count: 1 }, gates: [] }, request.id);
    await t.fake.advance(200_000);
    expect(syncs()).toBe(3);
  });
});
