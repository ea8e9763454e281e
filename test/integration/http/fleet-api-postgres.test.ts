/**
 * The fleet API on PostgreSQL (the store of several server instances): every role-checked route ×
 * role, the domain scope, and the scoped views, as on SQLite (fleet-api.test.ts has the rest).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, roleAllows, type DevicesPage, type Overview, type RouteName, type RouteSpec } from '../../../src/core/fleet/api.ts';
import { createTestDatabase, type TestDatabase } from '../store/test-database.ts';
import { Client, startRig, type Rig } from './fleet-rig.ts';
import { OTHER_DOMAIN, VALID } from './route-cases.ts';

let db: TestDatabase;
let rig: Rig;
const clients: Record<string, Client> = {};

beforeAll(async () => {
  db = await createTestDatabase('fleet_http');
  rig = await startRig({ storeUrl: db.url });
  for (const name of ['viewer', 'operator', 'admin', 'admin-a', 'viewer-a']) {
    const c = new Client(rig.base);
    expect((await c.login(name)).status).toBe(200);
    clients[name] = c;
  }
});
afterAll(async () => {
  await rig?.close();
  await db?.drop();
});

describe('fleet API on PostgreSQL', () => {
  it('every role-checked route answers each role as its access says', async () => {
    for (const route of (ROUTES as readonly RouteSpec[]).filter((r) => r.access !== 'public' && r.name !== 'logout' && r.name !== 'events')) {
      const req = VALID[route.name as RouteName]!;
      expect((await new Client(rig.base).send(req.method, req.path, { body: req.body })).status, route.name).toBe(401);
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const a = await clients[role]!.send(req.method, req.path, { body: req.body });
        expect(a.status, `${route.name} as ${role}: ${JSON.stringify(a.body)}`).toBe(roleAllows(role, route.access) ? 200 : 403);
      }
    }
  });

  it('another domain\'s resources are 404 for a scoped admin', async () => {
    for (const [name, req] of Object.entries(OTHER_DOMAIN)) {
      expect((await clients['admin-a']!.send(req.method, req.path, { body: req.body })).status, name).toBe(404);
    }
  });

  it('a scoped viewer sees its domain and the open groups in the inventory and the overview', async () => {
    const page = (await clients['viewer-a']!.send('GET', '/api/v1/devices?limit=200')).body as DevicesPage;
    expect(page.rows.every((r) => r.deviceId.startsWith('rt-a') || r.deviceId === 'rt-open')).toBe(true);
    const mine = (await clients['viewer-a']!.send('GET', '/api/v1/overview')).body as Overview;
    expect(mine.efKbps).toEqual({ up: 100, down: 100 });
  });
});
