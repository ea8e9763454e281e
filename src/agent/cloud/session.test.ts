import { describe, expect, it } from 'vitest';
import { gateHash } from '../../core/protocol/digest.ts';
import { gate, setup, textOf } from './session.test-support.ts';

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

  it('reports a failure whatever the error it got: a long message cut at a character boundary, an overlong code as E_APPLY', async () => {
    // 255 ASCII characters, then a surrogate pair straddling the bound of 256.
    const message = `${'m'.repeat(255)}\u{1F4A9}${'z'.repeat(100)}`;
    const t = setup(new Map([['long', { code: `E_${'X'.repeat(40)}`, message }]]));
    t.session.started();
    await t.fromServer('accept', { server: 'qos-server-1', keepaliveS: 30, accountingS: 0, version: 0 }, t.sent.at(-1)!.id);
    const decision = await t.fromServer('decision.install', { version: 2, gates: [gate('long', 5010)] });
    const report = t.sent.at(-1)!;
    expect(report).toMatchObject({ type: 'report.failure', corr: decision.id, body: { gates: [{ id: 'long', code: 'E_APPLY', message: `${'m'.repeat(255)}…` }] } });
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
    // The retry comes after 10 s, jittered by up to a quarter either way: 7.5 to 12.5 s.
    await t.fake.advance(7_400);
    expect(syncs()).toBe(1);
    await t.fake.advance(5_200);
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
