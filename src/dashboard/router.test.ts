import { describe, expect, it } from 'vitest';
import { matchRoute, pathWithQuery } from './router.ts';

describe('dashboard routes', () => {
  it('names each page by its path', () => {
    expect(matchRoute('/').name).toBe('overview');
    expect(matchRoute('/devices').name).toBe('devices');
    expect(matchRoute('/devices/').name).toBe('devices');
    expect(matchRoute('/calls').name).toBe('calls');
    expect(matchRoute('/clearinghouse').name).toBe('clearinghouse');
    expect(matchRoute('/calls/a%40b.example').params).toEqual({ callId: 'a@b.example' });
    expect(matchRoute('/calls/a%40b.example').name).toBe('call');
    expect(matchRoute('/setup').name).toBe('setup');
    expect(matchRoute('/config', '?group=lab').name).toBe('config');
    expect(matchRoute('/config', '?group=lab').query.get('group')).toBe('lab');
    expect(matchRoute('/nothing/here').name).toBe('not-found');
  });

  it('decodes path parameters and reads the query string', () => {
    const route = matchRoute('/devices/owrt%2Dab', '?page=2&status=online');
    expect(route.name).toBe('device');
    expect(route.params).toEqual({ id: 'owrt-ab' });
    expect(route.query.get('status')).toBe('online');
  });

  it('takes a badly encoded parameter as no route rather than throwing', () => {
    expect(matchRoute('/devices/%E0%A4%A').name).toBe('not-found');
  });

  it('leaves empty filters out of a path', () => {
    expect(pathWithQuery('/devices', { search: '', status: 'online', offset: 0, tag: undefined })).toBe('/devices?status=online&offset=0');
    expect(pathWithQuery('/devices', {})).toBe('/devices');
  });
});
