import { describe, expect, it } from 'vitest';
import { validate } from '../protocol/schema.ts';
import { devicesQuery, pathFor, queryInt, roleAllows, route, ROUTES, statusOf, type RouteSpec } from './api.ts';

describe('fleet API contract', () => {
  it('roles are ordered viewer < operator < admin; public needs none', () => {
    expect(roleAllows('viewer', 'viewer')).toBe(true);
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('operator', 'viewer')).toBe(true);
    expect(roleAllows('operator', 'admin')).toBe(false);
    expect(roleAllows('admin', 'admin')).toBe(true);
    expect(roleAllows('viewer', 'public')).toBe(true);
  });

  it('maps codes to statuses: schema errors 400, unknown codes 500', () => {
    expect(statusOf('E_NOT_FOUND')).toBe(404);
    expect(statusOf('E_CSRF')).toBe(403);
    expect(statusOf('E_RATE_LIMITED')).toBe(429);
    expect(statusOf('E_UNKNOWN_FIELD')).toBe(400);
    expect(statusOf('E_WHATEVER')).toBe(500);
  });

  it('routes are unique by method and path and by name, all under /api/v1', () => {
    const routes = ROUTES as readonly RouteSpec[];
    expect(new Set(routes.map((r) => `${r.method} ${r.path}`)).size).toBe(routes.length);
    expect(new Set(routes.map((r) => r.name)).size).toBe(routes.length);
    expect(routes.every((r) => r.path.startsWith('/api/v1/'))).toBe(true);
    // A route with a path parameter declares its schema.
    expect(routes.filter((r) => r.path.includes(':') && r.params === undefined)).toEqual([]);
  });

  it('builds paths with encoded parameters, and names a missing one', () => {
    expect(pathFor(route('getDevice'), { id: 'a b' })).toEqual({ ok: true, value: '/api/v1/devices/a%20b' });
    const missing = pathFor(route('getDevice'));
    expect(!missing.ok && missing.error.path).toBe('params.id');
  });

  it('query integers take decimal text and numbers within bounds', () => {
    const q = queryInt({ min: 1, max: 200 });
    expect(validate(q, '20')).toEqual({ ok: true, value: 20 });
    expect(validate(q, 20)).toEqual({ ok: true, value: 20 });
    for (const bad of ['0', '201', '1.5', '', ' 3', '1e2', '0x10', null]) expect(validate(q, bad).ok).toBe(false);
    expect(q.jsonSchema).toEqual({ type: 'integer', minimum: 1, maximum: 200 });
  });

  it('the devices query takes every filter and refuses unknown ones by name', () => {
    const r = validate(devicesQuery, { search: 'rt', group: 'g-1', tag: 'lab', version: '0.1.0', status: 'online', feature: 'cake', sort: 'lastSeen', order: 'desc', offset: '0', limit: '50' });
    expect(r.ok && r.value.limit).toBe(50);
    const bad = validate(devicesQuery, { colour: 'red' });
    expect(!bad.ok && bad.error).toMatchObject({ code: 'E_UNKNOWN_FIELD', path: 'colour' });
  });
});
