import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { makeMessage, type Message } from '../../core/protocol/envelope.ts';
import type { EnrolAnswerBody, EnrolRequestBody } from '../../core/protocol/messages/enrol.ts';
import { ok, type Result } from '../../core/result.ts';
import { EnrolmentService, type EnrolmentOptions } from './enrolment.ts';
import { hashSecret, makeEnrolmentKey } from './keys.ts';
import { MemoryFleetStore, MemoryIdentities } from './memory-fleet.test-support.ts';
import type { DeviceGroup, EnrolmentKey } from './store/types.ts';

const PASSWORD = 'p'.repeat(32);

function request(hardwareId: string, key: string, over: Partial<EnrolRequestBody> = {}): EnrolRequestBody {
  return {
    key,
    hardwareId,
    password: PASSWORD,
    hostname: 'office-gw',
    hardware: { model: 'Test Board', boardName: 'test,board', release: '23.05.3', target: 'x86/64', kernel: '5.15.150' },
    versions: { agent: '0.1.0', quickjs: '2021-03-27' },
    features: { cake: false, fqCodel: true, ctinfo: false, flowOffload: false, nft: '1.0.8' },
    ...over,
  };
}

let seq = 0;
function message(sender: string, body: EnrolRequestBody): Message {
  seq += 1;
  const made = makeMessage('enrol.request', { id: `${sender}:1:${seq}`, device: sender, session: 1, seq, ts: 1 }, body);
  if (!made.ok) throw new Error(made.error.message);
  return made.value;
}

describe('EnrolmentService', () => {
  let store: MemoryFleetStore;
  let identities: MemoryIdentities;
  let answers: { hardwareId: string; body: EnrolAnswerBody; corr: string }[];
  let logs: string[];
  let now: number;
  let service: EnrolmentService;
  let wholeKey: string;
  const group: DeviceGroup = { id: 'office', name: 'Office', domain: null, enrolPolicy: 'auto', reenrolPolicy: 'replace', createdAtMs: 0 };

  function start(options: Partial<EnrolmentOptions> = {}): void {
    service = new EnrolmentService({
      store,
      identities,
      answers: {
        toEnrolling(hardwareId, body, corr): Result<Message> {
          answers.push({ hardwareId, body, corr });
          return ok(message('server', request('x', wholeKey)));
        },
      },
      log: createLogger((l) => logs.push(l), 'debug'),
      now: () => now,
      options,
    });
  }

  async function enrol(hardwareId: string, key = wholeKey, over: Partial<EnrolRequestBody> = {}, sender = hardwareId, topic = hardwareId): Promise<EnrolAnswerBody> {
    const m = message(sender, request(hardwareId, key, over));
    await service.handle(topic, m);
    const last = answers.at(-1)!;
    expect(last.corr).toBe(m.id);
    expect(last.hardwareId).toBe(topic);
    return last.body;
  }

  async function addKey(over: Partial<EnrolmentKey> = {}): Promise<string> {
    const made = makeEnrolmentKey();
    await store.createKey({ id: made.id, group: 'office', label: '', secretHash: made.secretHash, createdAtMs: 0, createdBy: 'cli', expiresAtMs: null, revokedAtMs: null, uses: 0, lastUsedAtMs: null, ...over });
    return made.key;
  }

  beforeEach(async () => {
    store = new MemoryFleetStore();
    identities = new MemoryIdentities();
    answers = [];
    logs = [];
    now = 1_000_000;
    await store.putGroup(group);
    wholeKey = await addKey();
    store.writes.length = 0;
    start();
  });

  it('accepts a router of an auto group: login first, then the record, the key use and the audit entry', async () => {
    expect(await enrol('mac-0242ac110002')).toEqual({ outcome: 'accepted', deviceId: 'mac-0242ac110002', username: 'mac-0242ac110002' });
    expect(identities.logins.get('mac-0242ac110002')).toEqual({ password: PASSWORD, enabled: true });
    expect(store.writes).toEqual(['putFleetDevice', 'noteKeyUse', 'appendAudit']);
    expect(store.devices.get('mac-0242ac110002')).toMatchObject({ state: 'accepted', group: 'office', name: 'office-gw', enrolments: 1, enrolledAtMs: now, hostname: 'office-gw', versions: { agent: '0.1.0' } });
    expect(store.audit[0]).toMatchObject({ actor: 'device:mac-0242ac110002', action: 'device.enrol', target: 'mac-0242ac110002' });
    expect(JSON.stringify(store.audit)).not.toContain(PASSWORD);
    expect([...store.keys.values()][0]).toMatchObject({ uses: 1, lastUsedAtMs: now });
  });

  it('refuses a wrong secret, an unknown key, an expired and a revoked key, writing nothing', async () => {
    const [id] = wholeKey.split('.');
    expect(await enrol('hw-1', `${id}.${'x'.repeat(32)}`)).toMatchObject({ outcome: 'refused', code: 'E_KEY_UNKNOWN' });
    expect(await enrol('hw-2', `nokey1.${'x'.repeat(32)}`)).toMatchObject({ outcome: 'refused', code: 'E_KEY_UNKNOWN' });
    const expired = await addKey({ expiresAtMs: now - 1 });
    const revoked = await addKey({ revokedAtMs: now - 1 });
    store.writes.length = 0;
    expect(await enrol('hw-3', expired)).toMatchObject({ outcome: 'refused', code: 'E_KEY_EXPIRED' });
    expect(await enrol('hw-4', revoked)).toMatchObject({ outcome: 'refused', code: 'E_KEY_REVOKED' });
    expect(store.writes).toEqual([]);
    expect(store.devices.size).toBe(0);
    expect(identities.calls).toEqual([]);
  });

  it('refuses a key whose group is gone', async () => {
    store.groups.clear();
    expect(await enrol('hw-1')).toMatchObject({ outcome: 'refused', code: 'E_GROUP_UNKNOWN' });
  });

  it('refuses E_IDENTITY when topic, sender and body disagree', async () => {
    expect(await enrol('hw-1', wholeKey, {}, 'hw-2', 'hw-1')).toMatchObject({ outcome: 'refused', code: 'E_IDENTITY' });
    expect(await enrol('hw-1', wholeKey, {}, 'hw-9', 'hw-9')).toMatchObject({ outcome: 'refused', code: 'E_IDENTITY' });
    expect(store.writes).toEqual([]);
  });

  it('refuses a message that is not an enrolment request, answering its id', async () => {
    const made = makeMessage('keepalive', { id: 'hw-1:1:99', device: 'hw-1', session: 1, seq: 99, ts: 1 }, {});
    if (!made.ok) throw new Error(made.error.message);
    await service.handle('hw-1', made.value);
    expect(answers.at(-1)).toMatchObject({ corr: 'hw-1:1:99', body: { outcome: 'refused', code: 'E_UNEXPECTED_TYPE' } });
    expect(store.writes).toEqual([]);
  });

  it('holds a router of an approve group (no password stored) and accepts it once approved', async () => {
    await store.putGroup({ ...group, enrolPolicy: 'approve' });
    store.writes.length = 0;
    expect(await enrol('hw-1')).toEqual({ outcome: 'pending', retryS: 5 });
    expect(store.devices.get('hw-1')).toMatchObject({ state: 'pending', enrolments: 0, enrolledAtMs: null });
    expect(JSON.stringify([...store.devices.values()])).not.toContain(PASSWORD);
    expect(identities.calls).toEqual([]);
    // Asking again while waiting writes nothing more.
    store.writes.length = 0;
    expect(await enrol('hw-1')).toEqual({ outcome: 'pending', retryS: 5 });
    expect(store.writes).toEqual([]);
    await store.setFleetState('hw-1', { state: 'approved', reason: null, atMs: now });
    expect(await enrol('hw-1')).toMatchObject({ outcome: 'accepted', deviceId: 'hw-1' });
    expect(store.devices.get('hw-1')).toMatchObject({ state: 'accepted', enrolments: 1 });
  });

  it('tells a pending router the configured retry interval', async () => {
    await store.putGroup({ ...group, enrolPolicy: 'approve' });
    start({ pendingRetryS: 30 });
    expect(await enrol('hw-1')).toEqual({ outcome: 'pending', retryS: 30 });
  });

  it('re-enrols a known router under replace: same device id, history kept, one more enrolment', async () => {
    await enrol('hw-1');
    await store.patchFleetDevice('hw-1', { name: 'Front desk', tags: ['lab'], updatedAtMs: now });
    now += 1000;
    expect(await enrol('hw-1', wholeKey, { password: 'n'.repeat(30), versions: { agent: '0.2.0', quickjs: '2021-03-27' } })).toMatchObject({ outcome: 'accepted', deviceId: 'hw-1' });
    expect(store.devices.get('hw-1')).toMatchObject({ name: 'Front desk', tags: ['lab'], enrolments: 2, versions: { agent: '0.2.0' }, requestedAtMs: now - 1000, enrolledAtMs: now });
    expect(identities.logins.get('hw-1')?.password).toBe('n'.repeat(30));
  });

  it('holds a known router under hold, keeping its old login, until approved', async () => {
    await enrol('hw-1');
    await store.putGroup({ ...group, reenrolPolicy: 'hold' });
    identities.calls.length = 0;
    expect(await enrol('hw-1', wholeKey, { password: 'n'.repeat(30) })).toEqual({ outcome: 'pending', retryS: 5 });
    expect(store.devices.get('hw-1')).toMatchObject({ state: 'pending', enrolments: 1 });
    expect(store.devices.get('hw-1')?.stateReason).toMatch(/^E_REENROL_HOLD/);
    expect(identities.logins.get('hw-1')?.password).toBe(PASSWORD);
    expect(store.audit.at(-1)).toMatchObject({ action: 'device.reenrol-hold' });
    await store.setFleetState('hw-1', { state: 'approved', reason: null, atMs: now });
    expect(await enrol('hw-1', wholeKey, { password: 'n'.repeat(30) })).toMatchObject({ outcome: 'accepted' });
    expect(store.devices.get('hw-1')).toMatchObject({ state: 'accepted', enrolments: 2 });
    expect(identities.logins.get('hw-1')?.password).toBe('n'.repeat(30));
  });

  it('refuses a rejected router and a revoked one', async () => {
    await enrol('hw-1');
    await store.setFleetState('hw-1', { state: 'revoked', reason: 'E_REVOKED: stolen', atMs: now });
    expect(await enrol('hw-1')).toMatchObject({ outcome: 'refused', code: 'E_REVOKED' });
    await store.setFleetState('hw-1', { state: 'rejected', reason: 'E_REJECTED: no', atMs: now });
    expect(await enrol('hw-1')).toMatchObject({ outcome: 'refused', code: 'E_REJECTED' });
  });

  it('answers E_INTERNAL and writes no record when the broker login cannot be made', async () => {
    identities.failCode = 'E_DYNSEC';
    expect(await enrol('hw-1')).toMatchObject({ outcome: 'refused', code: 'E_INTERNAL', retryS: 10 });
    expect(store.devices.size).toBe(0);
  });

  it('answers E_INTERNAL when the store fails', async () => {
    store.failWith = new Error('disk I/O error');
    expect(await enrol('hw-1')).toMatchObject({ outcome: 'refused', code: 'E_INTERNAL' });
    expect(logs.some((l) => l.startsWith('error: enrolment failed in the store'))).toBe(true);
  });

  it('answers within the deadline when the store hangs', async () => {
    start({ answerWithinMs: 50 });
    store.getKey = () => new Promise(() => {});
    expect(await enrol('hw-1')).toMatchObject({ outcome: 'refused', code: 'E_INTERNAL' });
  });

  it('answers a repeated request id alike without enrolling twice', async () => {
    const m = message('hw-1', request('hw-1', wholeKey));
    await service.handle('hw-1', m);
    await service.handle('hw-1', m);
    expect(answers.map((a) => a.body.outcome)).toEqual(['accepted', 'accepted']);
    expect(store.devices.get('hw-1')?.enrolments).toBe(1);
    expect(identities.calls).toEqual(['upsert hw-1']);
  });

  it('rate-limits per router and globally, with retryS, and logs a flood in a few lines', async () => {
    start({ rateLimit: { perKey: { capacity: 2, refillPerS: 0.1 }, global: { capacity: 50, refillPerS: 1 }, maxKeys: 100 } });
    const bogus = `nokey1.${'x'.repeat(32)}`;
    expect(await enrol('hw-1', bogus)).toMatchObject({ code: 'E_KEY_UNKNOWN' });
    expect(await enrol('hw-1', bogus)).toMatchObject({ code: 'E_KEY_UNKNOWN' });
    expect(await enrol('hw-1', bogus)).toEqual({ outcome: 'refused', code: 'E_RATE_LIMITED', detail: expect.stringContaining('this router') as string, retryS: 10 });
    for (let i = 0; i < 10_000; i++) await service.handle(`bogus-${i}`, message(`bogus-${i}`, request(`bogus-${i}`, bogus)));
    expect(answers).toHaveLength(10_003);
    expect(answers.at(-1)!.body).toMatchObject({ code: 'E_RATE_LIMITED', detail: expect.stringContaining('all routers') as string });
    expect(store.writes).toEqual([]);
    const warnings = logs.filter((l) => l.startsWith('warn: enrolment refused'));
    expect(warnings.length).toBeLessThanOrEqual(20);
    // A minute later the next line says how many were left out.
    now += 60_000;
    await enrol('hw-late', bogus);
    expect(logs.at(-1)).toMatch(/not_logged_since=\d{4}/);
  });

  it('refuses a request that did not validate with the field named, when it can be answered', () => {
    const text = JSON.stringify({ v: 1, type: 'enrol.request', id: 'hw-1:1:1', device: 'hw-1', session: 1, seq: 1, ts: 1, body: {} });
    service.refuseInvalid('hw-1', text, { code: 'E_FORMAT', message: 'not an enrolment key', path: 'body.key' });
    expect(answers.at(-1)).toEqual({ hardwareId: 'hw-1', corr: 'hw-1:1:1', body: { outcome: 'refused', code: 'E_FORMAT', detail: 'body.key: not an enrolment key' } });
    // Another sender on this topic, or no id: not answered.
    service.refuseInvalid('hw-1', text.replace('"device":"hw-1"', '"device":"hw-2"'), { code: 'E_FORMAT', message: 'x' });
    service.refuseInvalid('hw-1', '{"v":1}', { code: 'E_REQUIRED', message: 'x' });
    expect(answers).toHaveLength(1);
  });

  it('hashes secrets with SHA-256 hex', () => {
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
