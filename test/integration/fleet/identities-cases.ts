/**
 * What every BrokerIdentities must do on its real broker (Mosquitto with dynsec, the embedded
 * aedes broker), checked by what MQTT clients can then do: log in or not, and what is delivered.
 * An observer login that may publish and subscribe everywhere in callqos/v1 watches and feeds.
 * A refusal is proved by delivery: a marker sent after the refused message arrives, the refused
 * message does not (Mosquitto acknowledges refused publishes; aedes closes the connection).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ENROL_PASSWORD, ENROL_USERNAME } from '../../../src/core/protocol/acl.ts';
import type { BrokerIdentities } from '../../../src/cloud/fleet/identities.ts';
import { collect, connectPlain, publishPlain, sleep, subscribePlain, waitFor } from '../broker/support.ts';

export interface IdentitiesUnderTest {
  port: number;
  identities: BrokerIdentities;
  /** A login allowed everything in callqos/v1. */
  observer: { username: string; password: string };
  stop(): Promise<void>;
}

/** How long a revoked connection may stay up (issue 15: "within 2 s"). */
const KICK_WITHIN_MS = 2000;

export function identitiesCases(start: () => Promise<IdentitiesUnderTest>): void {
  let rig: IdentitiesUnderTest;
  let observer: MqttClient;
  let seen: { topic: string; text: string }[];
  const open: MqttClient[] = [];
  let n = 0;

  const login = async (username: string, password: string): Promise<MqttClient> => {
    const c = await connectPlain(rig.port, { username, password, clientId: `${username}-${++n}` });
    open.push(c);
    return c;
  };
  const refusedLogin = async (username: string, password: string): Promise<void> => {
    await expect(connectPlain(rig.port, { username, password, clientId: `${username}-${++n}` })).rejects.toThrow();
  };
  const seenText = (text: string): boolean => seen.some((m) => m.text === text);
  /** The observer's own marker arrives; `text` must not have arrived before it. */
  const expectNotSeen = async (text: string): Promise<void> => {
    await sleep(100);
    const marker = `marker-${++n}`;
    await publishPlain(observer, 'callqos/v1/dev/marker/up', marker);
    await waitFor(() => seenText(marker), 'the marker');
    expect(seenText(text), `${text} must not be delivered`).toBe(false);
  };
  /** Subscribes `client` to `filter` and to an allowed `control` topic; proves what `filter` gets. */
  const deliveredThrough = async (client: MqttClient, filter: string, control: string, publishTo: string): Promise<boolean> => {
    const got = collect(client);
    await subscribePlain(client, filter);
    await subscribePlain(client, control);
    const text = `probe-${++n}`;
    const marker = `control-${n}`;
    await publishPlain(observer, publishTo, text);
    await publishPlain(observer, control, marker);
    await waitFor(() => got.some((m) => m.text === marker), `the control message on ${control}`);
    await sleep(50);
    return got.some((m) => m.text === text);
  };

  beforeAll(async () => {
    rig = await start();
    observer = await connectPlain(rig.port, { username: rig.observer.username, password: rig.observer.password, clientId: 'observer' });
    seen = collect(observer);
    expect(await subscribePlain(observer, 'callqos/v1/#')).toBeLessThan(128);
  });

  afterAll(async () => {
    for (const c of open) c.end(true);
    observer?.end(true);
    await rig?.stop();
  });

  it('prepares the enrolment login and roles, twice without harm', async () => {
    expect(await rig.identities.prepare()).toEqual({ ok: true, value: undefined });
    expect(await rig.identities.prepare()).toEqual({ ok: true, value: undefined });
    (await login(ENROL_USERNAME, ENROL_PASSWORD)).end(true);
  });

  it('makes device logins that reach their own topics only', async () => {
    expect((await rig.identities.upsertDevice('owrt-a', 'password-of-a-0123456789')).ok).toBe(true);
    expect((await rig.identities.upsertDevice('owrt-b', 'password-of-b-0123456789')).ok).toBe(true);
    await refusedLogin('owrt-a', 'password-of-b-0123456789');

    const a = await login('owrt-a', 'password-of-a-0123456789');
    await publishPlain(a, 'callqos/v1/dev/owrt-a/up', 'a-up');
    await publishPlain(a, 'callqos/v1/dev/owrt-a/status', 'a-status');
    await waitFor(() => seenText('a-up') && seenText('a-status'), 'the device\'s own uplink and status');

    await publishPlain(await login('owrt-a', 'password-of-a-0123456789'), 'callqos/v1/dev/owrt-b/up', 'a-as-b-up');
    await publishPlain(await login('owrt-a', 'password-of-a-0123456789'), 'callqos/v1/dev/owrt-a/down', 'a-on-own-down');
    await publishPlain(await login('owrt-a', 'password-of-a-0123456789'), 'callqos/v1/enrol/hw-1/req', 'a-as-enrol');
    await expectNotSeen('a-as-b-up');
    expect(seenText('a-on-own-down')).toBe(false);
    expect(seenText('a-as-enrol')).toBe(false);

    const own = await login('owrt-a', 'password-of-a-0123456789');
    expect(await deliveredThrough(own, 'callqos/v1/dev/owrt-a/desired', 'callqos/v1/dev/owrt-a/down', 'callqos/v1/dev/owrt-a/desired')).toBe(true);
    const other = await login('owrt-a', 'password-of-a-0123456789');
    expect(await deliveredThrough(other, 'callqos/v1/dev/owrt-b/down', 'callqos/v1/dev/owrt-a/down', 'callqos/v1/dev/owrt-b/down')).toBe(false);
    const wild = await login('owrt-a', 'password-of-a-0123456789');
    expect(await deliveredThrough(wild, 'callqos/v1/dev/+/down', 'callqos/v1/dev/owrt-a/down', 'callqos/v1/dev/owrt-b/down')).toBe(false);
  });

  it('lets the enrolment login ask for any hardware id and read one answer topic at a time, nothing else', async () => {
    const enrol = await login(ENROL_USERNAME, ENROL_PASSWORD);
    await publishPlain(enrol, 'callqos/v1/enrol/hw-1/req', 'req-1');
    await publishPlain(enrol, 'callqos/v1/enrol/AA.BB-cc_2/req', 'req-2');
    await waitFor(() => seenText('req-1') && seenText('req-2'), 'enrolment requests');

    await publishPlain(await login(ENROL_USERNAME, ENROL_PASSWORD), 'callqos/v1/dev/owrt-a/up', 'enrol-as-device');
    await publishPlain(await login(ENROL_USERNAME, ENROL_PASSWORD), 'callqos/v1/enrol/hw-1/res', 'enrol-forges-answer');
    await expectNotSeen('enrol-as-device');
    expect(seenText('enrol-forges-answer')).toBe(false);

    const control = 'callqos/v1/enrol/hw-1/res';
    expect(await deliveredThrough(await login(ENROL_USERNAME, ENROL_PASSWORD), 'callqos/v1/enrol/hw-2/res', control, 'callqos/v1/enrol/hw-2/res')).toBe(true);
    for (const [filter, publishTo] of [
      ['callqos/v1/enrol/+/res', 'callqos/v1/enrol/hw-3/res'],
      ['callqos/v1/enrol/#', 'callqos/v1/enrol/hw-3/res'],
      ['$share/g/callqos/v1/enrol/+/res', 'callqos/v1/enrol/hw-3/res'],
      ['callqos/v1/enrol/hw-3/req', 'callqos/v1/enrol/hw-3/req'],
      ['callqos/v1/enrol/+/req', 'callqos/v1/enrol/hw-3/req'],
      ['callqos/v1/dev/owrt-a/down', 'callqos/v1/dev/owrt-a/down'],
    ] as const) {
      expect(await deliveredThrough(await login(ENROL_USERNAME, ENROL_PASSWORD), filter, control, publishTo), filter).toBe(false);
    }
  });

  it('disables a device: its live connection closes within 2 s and it cannot log in; enabling lets it back', async () => {
    const a = await login('owrt-a', 'password-of-a-0123456789');
    const closed = new Promise<number>((resolve) => a.once('close', () => resolve(Date.now())));
    const asked = Date.now();
    expect(await rig.identities.disableDevice('owrt-a')).toEqual({ ok: true, value: undefined });
    const at = await Promise.race([closed, sleep(KICK_WITHIN_MS * 3).then(() => Number.POSITIVE_INFINITY)]);
    expect(at - asked).toBeLessThan(KICK_WITHIN_MS);
    await refusedLogin('owrt-a', 'password-of-a-0123456789');
    // The other device is untouched.
    (await login('owrt-b', 'password-of-b-0123456789')).end(true);

    expect(await rig.identities.enableDevice('owrt-a')).toEqual({ ok: true, value: undefined });
    const back = await login('owrt-a', 'password-of-a-0123456789');
    await publishPlain(back, 'callqos/v1/dev/owrt-a/up', 'a-back');
    await waitFor(() => seenText('a-back'), 'the re-enabled device\'s uplink');
  });

  it('gives a device a new password on a second upsert: the old one is refused', async () => {
    expect((await rig.identities.disableDevice('owrt-b')).ok).toBe(true);
    expect((await rig.identities.upsertDevice('owrt-b', 'new-password-of-b-98765')).ok).toBe(true);
    await refusedLogin('owrt-b', 'password-of-b-0123456789');
    // The upsert also enabled it again.
    const b = await login('owrt-b', 'new-password-of-b-98765');
    await publishPlain(b, 'callqos/v1/dev/owrt-b/up', 'b-new-password');
    await waitFor(() => seenText('b-new-password'), 'the uplink with the new password');
  });

  it('ends a device\'s live connection when its password changes (rotation): by the broker itself, or through disconnectDevice', async () => {
    expect((await rig.identities.upsertDevice('owrt-c', 'password-of-c-0123456789')).ok).toBe(true);
    const c = await login('owrt-c', 'password-of-c-0123456789');
    const closed = new Promise<number>((resolve) => c.once('close', () => resolve(Date.now())));
    const asked = Date.now();
    expect(await rig.identities.upsertDevice('owrt-c', 'rotated-password-of-c-0123')).toEqual({ ok: true, value: undefined });
    rig.identities.disconnectDevice?.('owrt-c');
    const at = await Promise.race([closed, sleep(KICK_WITHIN_MS * 3).then(() => Number.POSITIVE_INFINITY)]);
    expect(at - asked).toBeLessThan(KICK_WITHIN_MS);
    await refusedLogin('owrt-c', 'password-of-c-0123456789');
    (await login('owrt-c', 'rotated-password-of-c-0123')).end(true);
  });

  it('removes a device: connection closed, login gone; removing again is fine', async () => {
    const b = await login('owrt-b', 'new-password-of-b-98765');
    const closed = new Promise<void>((resolve) => b.once('close', () => resolve()));
    expect(await rig.identities.removeDevice('owrt-b')).toEqual({ ok: true, value: undefined });
    await closed;
    await refusedLogin('owrt-b', 'new-password-of-b-98765');
    expect(await rig.identities.removeDevice('owrt-b')).toEqual({ ok: true, value: undefined });
    // Re-creating it works from scratch.
    expect((await rig.identities.upsertDevice('owrt-b', 'third-password-of-b-555')).ok).toBe(true);
    (await login('owrt-b', 'third-password-of-b-555')).end(true);
  });

  it('refuses bad input with a code naming the field, and an unknown device with E_NOT_FOUND', async () => {
    for (const id of ['', 'a/b', '+', '#', 'x'.repeat(65), ENROL_USERNAME]) {
      const r = await rig.identities.upsertDevice(id, 'some-password-123456789');
      expect(r.ok ? undefined : r.error.code, JSON.stringify(id)).toBe('E_INVALID_ID');
      expect(r.ok ? undefined : r.error.path).toBe('deviceId');
    }
    const noPassword = await rig.identities.upsertDevice('owrt-c', '');
    expect(noPassword.ok ? undefined : noPassword.error.code).toBe('E_INVALID_PASSWORD');
    for (const r of [await rig.identities.disableDevice('owrt-none'), await rig.identities.enableDevice('owrt-none')]) {
      expect(r.ok ? undefined : r.error.code).toBe('E_NOT_FOUND');
    }
  });
}
