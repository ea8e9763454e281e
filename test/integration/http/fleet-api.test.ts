/**
 * The operators' HTTP API over real HTTP, on a real SQLite store with the real fleet store and
 * operator actions: every route × role (no session, viewer, operator, admin), domain scope,
 * CSRF, the login rate limit, logout, disabled accounts, bad input that changes nothing, the
 * OpenAPI document, the event stream, the first-admin setup and the dashboard's files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, roleAllows, type DeviceDetail, type DevicesPage, type Overview, type RouteName, type RouteSpec } from '../../../src/core/fleet/api.ts';
import { makeTempDir } from '../../support/temp.ts';
import { Client, PASSWORD, startRig, type Answer, type Rig } from './fleet-rig.ts';
import { OTHER_DOMAIN, VALID, type Request } from './route-cases.ts';

const ROLE_CHECKED = (ROUTES as readonly RouteSpec[]).filter((r) => r.access !== 'public' && r.name !== 'logout' && r.name !== 'events');

let rig: Rig;
const clients: Record<string, Client> = {};

async function loggedIn(username: string): Promise<Client> {
  const c = new Client(rig.base);
  const a = await c.login(username);
  expect(a.status, JSON.stringify(a.body)).toBe(200);
  return c;
}

function rawStatus(base: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(base + '/', { path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

function errorOf(a: Answer): { code: string; path?: string } {
  return (a.body as { error: { code: string; path?: string } }).error;
}

beforeAll(async () => {
  rig = await startRig();
  for (const name of ['viewer', 'operator', 'admin', 'admin-a', 'viewer-a']) clients[name] = await loggedIn(name);
});
afterAll(() => rig.close());

describe('every route × role', () => {
  it('the table covers every role-checked route', () => {
    expect(ROLE_CHECKED.map((r) => r.name as RouteName).filter((n) => VALID[n] === undefined)).toEqual([]);
    expect((ROUTES as readonly RouteSpec[]).filter((r) => r.scoped === true).map((r) => r.name as RouteName).filter((n) => OTHER_DOMAIN[n] === undefined)).toEqual([]);
  });

  for (const route of ROLE_CHECKED) {
    it(`${route.method} ${route.path} (${route.access})`, async () => {
      const req = VALID[route.name as RouteName]!;
      expect(req.method).toBe(route.method);
      const anonymous = await new Client(rig.base).send(req.method, req.path, { body: req.body });
      expect(anonymous.status).toBe(401);
      expect(errorOf(anonymous).code).toBe('E_UNAUTHENTICATED');
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const a = await clients[role]!.send(req.method, req.path, { body: req.body });
        if (roleAllows(role, route.access)) {
          expect(a.status, `${role}: ${JSON.stringify(a.body)}`).toBe(200);
        } else {
          expect(a.status, role).toBe(403);
          expect(errorOf(a).code).toBe('E_FORBIDDEN');
        }
      }
    });
  }

  for (const [name, req] of Object.entries(OTHER_DOMAIN)) {
    it(`${name}: an admin of dom-a gets 404 for dom-b's resource, and it is unchanged`, async () => {
      const before = await clients['admin']!.send('GET', req.path.startsWith('/api/v1/devices/') ? req.path.split('/').slice(0, 5).join('/') : '/api/v1/enrolment-keys');
      const a = await clients['admin-a']!.send(req.method, req.path, { body: req.body });
      expect(a.status, JSON.stringify(a.body)).toBe(404);
      expect(errorOf(a).code).toBe('E_NOT_FOUND');
      const after = await clients['admin']!.send('GET', req.path.startsWith('/api/v1/devices/') ? req.path.split('/').slice(0, 5).join('/') : '/api/v1/enrolment-keys');
      expect(after.body).toEqual(before.body);
    });
  }
});

describe('what each role sees', () => {
  it('the device page: fleet record, presence, interfaces, live gates and EF per direction', async () => {
    const a = await clients['viewer']!.send('GET', '/api/v1/devices/rt-a1');
    const d = a.body as DeviceDetail;
    expect(d.fleet?.group).toBe('g-a');
    expect(d.presence?.status).toBe('online');
    expect(d.interfaces.map((i) => i.name)).toEqual(['lan']);
    expect(d.gates.map((g) => g.id)).toEqual(['ga1']);
    expect(d.admittedKbps).toEqual({ up: 100, down: 100 });
  });

  it('a scoped operator sees its domain and the open groups only', async () => {
    const page = (await clients['viewer-a']!.send('GET', '/api/v1/devices?limit=200')).body as DevicesPage;
    const ids = page.rows.map((r) => r.deviceId).sort();
    expect(ids.every((id) => id.startsWith('rt-a') || id === 'rt-open')).toBe(true);
    expect(ids).toContain('rt-open');
    expect(page.total).toBe(ids.length);
    const groups = (await clients['viewer-a']!.send('GET', '/api/v1/groups')).body as { rows: { id: string }[] };
    expect(groups.rows.map((g) => g.id)).toEqual(expect.arrayContaining(['g-a', 'g-open']));
    expect(groups.rows.map((g) => g.id)).not.toContain('g-b');
    const keys = (await clients['admin-a']!.send('GET', '/api/v1/enrolment-keys')).body as { rows: { id: string; group: string }[] };
    expect(keys.rows.every((k) => k.group === 'g-a')).toBe(true);
    expect(JSON.stringify(keys)).not.toContain('secretHash');
    const ops = (await clients['admin-a']!.send('GET', '/api/v1/operators')).body as { rows: { username: string; domain: string | null }[] };
    expect(ops.rows.every((o) => o.domain === 'dom-a')).toBe(true);
    expect(JSON.stringify(ops)).not.toContain('passwordHash');
  });

  it('overview, calls and usage are counted within the scope', async () => {
    const all = (await clients['viewer']!.send('GET', '/api/v1/overview')).body as Overview;
    expect(all.sessions).toEqual({ active: 1, pending: 1 });
    expect(all.efKbps).toEqual({ up: 180, down: 164 });
    expect(all.devices.online).toBe(3);
    const mine = (await clients['viewer-a']!.send('GET', '/api/v1/overview')).body as Overview;
    expect(mine.sessions).toEqual({ active: 1, pending: 0 });
    expect(mine.efKbps).toEqual({ up: 100, down: 100 });
    const calls = (await clients['viewer-a']!.send('GET', '/api/v1/sessions')).body as { rows: { callId: string; gates: unknown[] }[] };
    expect(calls.rows.map((r) => r.callId)).toEqual(['call-ab']);
    const everyCall = (await clients['viewer']!.send('GET', '/api/v1/sessions?state=pending')).body as { rows: { callId: string }[] };
    expect(everyCall.rows.map((r) => r.callId)).toEqual(['call-b']);
    const usage = (await clients['viewer-a']!.send('GET', '/api/v1/usage?callId=call-ab')).body as { rows: { device: string }[] };
    expect(usage.rows.map((r) => r.device)).toEqual(['rt-a1']);
    const audit = await clients['viewer-a']!.send('GET', '/api/v1/audit');
    expect(audit.status).toBe(403);
  });

  it('a created enrolment key is returned whole once and listed without its secret', async () => {
    const created = await clients['admin']!.send('POST', '/api/v1/enrolment-keys', { body: { group: 'g-open', label: 'once', expiresAtMs: null } });
    const { key, enrolmentKey } = created.body as { key: string; enrolmentKey: { id: string } };
    expect(key.startsWith(`${enrolmentKey.id}.`)).toBe(true);
    const listed = await clients['admin']!.send('GET', '/api/v1/enrolment-keys');
    expect(JSON.stringify(listed.body)).not.toContain(key.split('.')[1]!);
  });

  it('an action\'s refusal names the field where the client sent it', async () => {
    const otherDomain = await clients['admin-a']!.send('POST', '/api/v1/groups', { body: { id: 'g-b2', name: 'b2', domain: 'dom-b', enrolPolicy: 'auto', reenrolPolicy: 'hold' } });
    expect(otherDomain.status).toBe(400);
    expect(errorOf(otherDomain)).toMatchObject({ code: 'E_INPUT', path: 'body.domain' });
    const past = await clients['admin']!.send('POST', '/api/v1/enrolment-keys', { body: { group: 'g-a', label: 'old', expiresAtMs: 1000 } });
    expect(past.status).toBe(400);
    expect(errorOf(past)).toMatchObject({ code: 'E_INPUT', path: 'body.expiresAtMs' });
    const twice = await clients['admin']!.send('POST', '/api/v1/enrolment-keys/keyaaaa1/revoke');
    expect(twice.status).toBe(409);
    expect(errorOf(twice).code).toBe('E_STATE');
  });

  it('a created operator with no password gets one generated and can log in with it', async () => {
    const created = await clients['admin']!.send('POST', '/api/v1/operators', { body: { username: 'gen-pass', role: 'viewer', domain: 'dom-a' } });
    const { password } = created.body as { password: string };
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect((await new Client(rig.base).login('gen-pass', password)).status).toBe(200);
  });
});

describe('bad input is refused naming the field, and changes nothing', () => {
  const cases: [string, Request, string, string][] = [
    ['an operator with a bad username', { method: 'POST', path: '/api/v1/operators', body: { username: 'two words', role: 'viewer', domain: null } }, 'E_FORMAT', 'body.username'],
    ['an operator with an unknown role', { method: 'POST', path: '/api/v1/operators', body: { username: 'ok', role: 'root', domain: null } }, 'E_ENUM', 'body.role'],
    ['a device patch with an unknown field', { method: 'PATCH', path: '/api/v1/devices/rt-a1', body: { name: 'x', owner: 'me' } }, 'E_UNKNOWN_FIELD', 'body.owner'],
    ['a device patch with too many tags', { method: 'PATCH', path: '/api/v1/devices/rt-a1', body: { tags: Array.from({ length: 17 }, (_, i) => `t${i}`) } }, 'E_LENGTH', 'body.tags'],
    ['a group without a policy', { method: 'POST', path: '/api/v1/groups', body: { id: 'g-x', name: 'x', domain: null, enrolPolicy: 'auto' } }, 'E_REQUIRED', 'body.reenrolPolicy'],
    ['a reject without a reason', { method: 'POST', path: '/api/v1/devices/rt-b-pend/reject', body: {} }, 'E_REQUIRED', 'body.reason'],
    ['a key with a negative expiry', { method: 'POST', path: '/api/v1/enrolment-keys', body: { group: 'g-a', label: '', expiresAtMs: -1 } }, 'E_RANGE', 'body.expiresAtMs'],
    ['a page too long', { method: 'GET', path: '/api/v1/devices?limit=201' }, 'E_RANGE', 'query.limit'],
    ['a sort that does not exist', { method: 'GET', path: '/api/v1/devices?sort=colour' }, 'E_ENUM', 'query.sort'],
    ['a query field that does not exist', { method: 'GET', path: '/api/v1/sessions?stat=active' }, 'E_UNKNOWN_FIELD', 'query.stat'],
    ['a limit that is not a number', { method: 'GET', path: '/api/v1/audit?limit=ten' }, 'E_TYPE', 'query.limit'],
    ['a device id with a slash encoded', { method: 'GET', path: '/api/v1/devices/a%2Fb' }, 'E_FORMAT', 'params.id'],
    ['a body that is not JSON', { method: 'POST', path: '/api/v1/groups', body: undefined }, 'E_TYPE', 'body'],
  ];
  for (const [what, req, code, path] of cases) {
    it(what, async () => {
      const snapshot = async () => [
        (await clients['admin']!.send('GET', '/api/v1/operators')).body,
        (await clients['admin']!.send('GET', '/api/v1/devices/rt-a1')).body,
        (await clients['admin']!.send('GET', '/api/v1/groups')).body,
        (await clients['admin']!.send('GET', '/api/v1/audit?limit=3')).body,
      ];
      const before = await snapshot();
      const a = await clients['admin']!.send(req.method, req.path, { body: req.body });
      expect(a.status, JSON.stringify(a.body)).toBe(400);
      expect(errorOf(a)).toMatchObject({ code, path });
      expect(await snapshot()).toEqual(before);
    });
  }

  it('every route with a body or query refuses an unknown field by name', async () => {
    const public_: Partial<Record<RouteName, Request>> = {
      login: { method: 'POST', path: '/api/v1/auth/login', body: { username: 'admin', password: PASSWORD } },
      setup: { method: 'POST', path: '/api/v1/auth/setup', body: { token: 'x'.repeat(32), username: 'root', password: 'a long password' } },
    };
    let checked = 0;
    for (const route of ROUTES as readonly RouteSpec[]) {
      const req = VALID[route.name as RouteName] ?? public_[route.name as RouteName];
      if (route.body !== undefined) {
        const a = await clients['admin']!.send(route.method, req!.path, { body: { ...(req!.body as object), surplus: 1 } });
        expect(a.status, route.name).toBe(400);
        expect(errorOf(a), route.name).toMatchObject({ code: 'E_UNKNOWN_FIELD', path: 'body.surplus' });
        checked++;
      }
      if (route.query !== undefined) {
        const a = await clients['admin']!.send('GET', `${route.path}?surplus=1`);
        expect(errorOf(a), route.name).toMatchObject({ code: 'E_UNKNOWN_FIELD', path: 'query.surplus' });
        checked++;
      }
    }
    expect(checked).toBe((ROUTES as readonly RouteSpec[]).filter((r) => r.body !== undefined).length + (ROUTES as readonly RouteSpec[]).filter((r) => r.query !== undefined).length);
  });

  it('malformed JSON is 400 E_JSON', async () => {
    const a = await clients['admin']!.send('POST', '/api/v1/groups', { body: undefined, headers: { 'content-type': 'application/json' } });
    expect(a.status).toBe(400);
    const raw = await fetch(`${rig.base}/api/v1/groups`, { method: 'POST', headers: { cookie: clients['admin']!.cookie!, 'x-csrf-token': clients['admin']!.csrf!, 'content-type': 'application/json' }, body: '{"id": ' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { code: string } }).error.code).toBe('E_JSON');
  });
});

describe('sessions and CSRF', () => {
  it('a state change without the CSRF header, or with another session\'s, is 403 E_CSRF and changes nothing', async () => {
    const before = (await clients['admin']!.send('GET', '/api/v1/devices/rt-a1')).body;
    const none = await clients['admin']!.send('PATCH', '/api/v1/devices/rt-a1', { body: { name: 'csrf' }, csrf: false });
    expect(none.status).toBe(403);
    expect(errorOf(none).code).toBe('E_CSRF');
    const other = await clients['admin']!.send('PATCH', '/api/v1/devices/rt-a1', { body: { name: 'csrf' }, csrf: false, headers: { 'x-csrf-token': clients['operator']!.csrf! } });
    expect(other.status).toBe(403);
    const crossOrigin = await clients['admin']!.send('PATCH', '/api/v1/devices/rt-a1', { body: { name: 'csrf' }, headers: { origin: 'http://evil.example' } });
    expect(crossOrigin.status).toBe(403);
    expect(errorOf(crossOrigin).code).toBe('E_CSRF');
    const sameOrigin = await clients['admin']!.send('PATCH', '/api/v1/devices/rt-a1', { body: { site: null }, headers: { origin: rig.base } });
    expect(sameOrigin.status).toBe(200);
    expect((await clients['admin']!.send('GET', '/api/v1/devices/rt-a1')).body).toEqual({ ...(before as object), fleet: { ...(before as DeviceDetail).fleet, site: null, updatedAtMs: (sameOrigin.body as { updatedAtMs: number }).updatedAtMs } });
  });

  it('the cookie is HttpOnly and SameSite=Strict, and a wrong password is 401', async () => {
    const c = new Client(rig.base);
    const a = await c.login('viewer');
    expect(a.headers.get('set-cookie')).toMatch(/^callqos_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const wrong = await new Client(rig.base).login('viewer', 'not it at all');
    expect(wrong.status).toBe(401);
    expect(errorOf(wrong).code).toBe('E_UNAUTHENTICATED');
  });

  it('logout ends the session for every route, for each role', async () => {
    for (const name of ['viewer', 'operator', 'admin']) {
      const c = await loggedIn(name);
      expect((await c.send('POST', '/api/v1/auth/logout', { csrf: false })).status).toBe(403);
      const out = await c.send('POST', '/api/v1/auth/logout');
      expect(out.status).toBe(200);
      expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
      expect((await c.send('GET', '/api/v1/auth/me')).status).toBe(401);
      expect((await c.send('POST', '/api/v1/auth/logout')).status).toBe(401);
    }
    expect((await new Client(rig.base).send('POST', '/api/v1/auth/logout')).status).toBe(401);
  });

  it('a disabled operator\'s sessions end, and it cannot log in; enabled again it can', async () => {
    const victim = await loggedIn('spare-b');
    expect((await victim.send('GET', '/api/v1/auth/me')).status).toBe(200);
    const off = await clients['admin']!.send('PATCH', '/api/v1/operators/op-spare-b', { body: { disabled: true } });
    expect(off.status).toBe(200);
    expect((await victim.send('GET', '/api/v1/auth/me')).status).toBe(401);
    expect((await new Client(rig.base).login('spare-b')).status).toBe(401);
    expect((await clients['admin']!.send('PATCH', '/api/v1/operators/op-spare-b', { body: { disabled: false } })).status).toBe(200);
    expect((await new Client(rig.base).login('spare-b')).status).toBe(200);
  });

  it('an admin cannot disable itself', async () => {
    const me = await loggedIn('admin');
    const a = await me.send('PATCH', '/api/v1/operators/op-admin', { body: { disabled: true } });
    expect(a.status).toBe(409);
    expect(errorOf(a)).toMatchObject({ code: 'E_STATE', path: 'body.disabled' });
  });
});

describe('login rate limit', () => {
  let limited: Rig;
  beforeAll(async () => {
    limited = await startRig({ extra: { auth: { perUsername: 3, perAddress: 6 } } });
  });
  afterAll(() => limited.close());

  it('per username: after 3 failures even the right password is refused with 429 until the window ends', async () => {
    for (let i = 0; i < 3; i++) expect((await new Client(limited.base).login('viewer', 'wrong password')).status).toBe(401);
    const a = await new Client(limited.base).login('viewer', PASSWORD);
    expect(a.status).toBe(429);
    expect(errorOf(a).code).toBe('E_RATE_LIMITED');
    expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user from the same address is not held by this user's count.
    expect((await new Client(limited.base).login('operator', PASSWORD)).status).toBe(200);
  });

  it('per source address: failures over several usernames add up', async () => {
    for (const name of ['admin', 'nobody-1', 'nobody-2']) expect((await new Client(limited.base).login(name, 'wrong password')).status).toBe(401);
    expect((await new Client(limited.base).login('admin', PASSWORD)).status).toBe(429);
  });
});

describe('the OpenAPI document, the event stream, the dashboard files', () => {
  it('lists every route with its method, role and schemas', async () => {
    const a = await new Client(rig.base).send('GET', '/api/v1/openapi.json');
    expect(a.status).toBe(200);
    const doc = a.body as { openapi: string; paths: Record<string, Record<string, { operationId: string; 'x-callqos-role': string; requestBody?: { content: { 'application/json': { schema: { properties: object } } } } }>> };
    expect(doc.openapi).toBe('3.1.0');
    for (const route of ROUTES as readonly RouteSpec[]) {
      const op = doc.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(op?.operationId, route.name).toBe(route.name);
      expect(op?.['x-callqos-role']).toBe(route.access);
      if (route.body !== undefined) expect(op?.requestBody?.content['application/json'].schema.properties).toBeDefined();
    }
    const ops = Object.values(doc.paths).flatMap((p) => Object.keys(p));
    expect(ops.length).toBe(ROUTES.length);
  });

  it('events: an overview at once, again when it changes, with heartbeats; 401 without a session', async () => {
    expect((await new Client(rig.base).send('GET', '/api/v1/events')).status).toBe(401);
    const c = clients['viewer']!;
    const controller = new AbortController();
    const res = await fetch(`${rig.base}/api/v1/events`, { headers: { cookie: c.cookie! }, signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (pred: (t: string) => boolean) => {
      while (!pred(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil((t) => t.includes('event: overview'));
    const first = JSON.parse(/data: (.*)\n/.exec(text)![1]!) as Overview;
    expect(first.sessions.active).toBe(1);
    // A change in the store reaches the stream without a request.
    await rig.store.setDeviceStatus('rt-open', 'offline', Date.now());
    await readUntil((t) => (t.match(/event: overview/g) ?? []).length >= 2);
    const events = [...text.matchAll(/event: overview\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!) as Overview);
    expect(events[1]!.devices.offline).toBe(first.devices.offline + 1);
    await readUntil((t) => t.includes(': heartbeat'));
    controller.abort();
  });

  it('serves the dashboard with a CSP and an SPA fallback; the session API shares the port', async () => {
    const temp = makeTempDir('fleet-dashboard');
    mkdirSync(join(temp.path, 'assets'));
    writeFileSync(join(temp.path, 'index.html'), '<!doctype html><title>callqos</title>');
    writeFileSync(join(temp.path, 'assets', 'app.js'), 'console.log(1)');
    const mounted: string[] = [];
    const withFiles = await startRig({
      seed: false,
      extra: {
        dashboardDir: temp.path,
        sessionListener: (req, res) => {
          mounted.push(req.url ?? '');
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        },
      },
    });
    try {
      const root = await fetch(`${withFiles.base}/`);
      expect(root.headers.get('content-type')).toContain('text/html');
      expect(root.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await root.text()).toContain('<title>callqos</title>');
      expect(await (await fetch(`${withFiles.base}/devices/rt-1`)).text()).toContain('<title>callqos</title>');
      const js = await fetch(`${withFiles.base}/assets/app.js`);
      expect(js.headers.get('content-type')).toContain('text/javascript');
      expect((await fetch(`${withFiles.base}/assets/missing.js`)).status).toBe(404);
      // Sent as is (fetch would normalise the dots away): an encoded climb out of the root is not served.
      expect(await rawStatus(withFiles.base, '/..%2F..%2Fetc%2Fpasswd')).toBe(404);
      expect(await rawStatus(withFiles.base, '/assets/..%2F..%2F..%2Fetc%2Fhostname')).toBe(404);
      expect((await fetch(`${withFiles.base}/api/v1/nothing`)).status).toBe(404);
      expect(await (await fetch(`${withFiles.base}/v1/health`)).json()).toEqual({ ok: true });
      expect(mounted).toEqual(['/v1/health']);
      expect(withFiles.setupUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/setup#[A-Za-z0-9_-]{32}$/);
    } finally {
      await withFiles.close();
      temp.remove();
    }
  });
});

describe('first admin through the setup link', () => {
  it('works once, with the logged token only, while no operator exists', async () => {
    const empty = await startRig({ seed: false });
    try {
      const token = empty.setupUrl!.split('#')[1]!;
      const c = new Client(empty.base);
      const wrong = await c.send('POST', '/api/v1/auth/setup', { body: { token: 'x'.repeat(32), username: 'root', password: 'a long password' } });
      expect(wrong.status).toBe(403);
      const weak = await c.send('POST', '/api/v1/auth/setup', { body: { token, username: 'root', password: 'short' } });
      expect(weak.status).toBe(400);
      expect(errorOf(weak).path).toBe('body.password');
      const made = await c.send('POST', '/api/v1/auth/setup', { body: { token, username: 'root', password: 'a long password' } });
      expect(made.status).toBe(200);
      expect((made.body as { operator: { role: string } }).operator.role).toBe('admin');
      const again = await c.send('POST', '/api/v1/auth/setup', { body: { token, username: 'root2', password: 'a long password' } });
      expect(again.status).toBe(403);
      expect((await new Client(empty.base).login('root', 'a long password')).status).toBe(200);
      expect(await empty.fleet.countOperators()).toBe(1);
    } finally {
      await empty.close();
    }
  });
});

describe('session expiry', () => {
  it('ends after idleMs without a request, and absoluteMs after login however busy', async () => {
    let clock = Date.now();
    const minute = 60_000;
    const timed = await startRig({ extra: { now: () => clock, auth: { idleMs: 30 * minute, absoluteMs: 120 * minute } } });
    try {
      const c = new Client(timed.base);
      expect((await c.login('viewer')).status).toBe(200);
      // Requests within the idle time move its end on.
      for (let i = 0; i < 3; i++) {
        clock += 29 * minute;
        expect((await c.send('GET', '/api/v1/auth/me')).status).toBe(200);
      }
      clock += 31 * minute;
      expect((await c.send('GET', '/api/v1/auth/me')).status).toBe(401);

      const busy = new Client(timed.base);
      const loginAt = clock;
      expect((await busy.login('viewer')).status).toBe(200);
      while (clock + 20 * minute < loginAt + 120 * minute) {
        clock += 20 * minute;
        expect((await busy.send('GET', '/api/v1/auth/me')).status).toBe(200);
      }
      clock = loginAt + 120 * minute;
      expect((await busy.send('GET', '/api/v1/auth/me')).status).toBe(401);
    } finally {
      await timed.close();
    }
  });
});
