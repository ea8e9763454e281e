import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { HttpApi } from '../../../src/cloud/server/http-api.ts';
import type { SessionApi } from '../../../src/cloud/server/http-api.ts';
import type { SessionAddBody, SessionDeleteBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { ok } from '../../../src/core/result.ts';

const addFixture = JSON.parse(readFileSync(new URL('../../fixtures/protocol/session.add.json', import.meta.url), 'utf8')).body as SessionAddBody;

/** Records what reached it; answers with a state derived from the request. */
class RecordingApi implements SessionApi {
  calls: Array<{ op: string; client: string; body: unknown }> = [];
  private state(callId: string, state: SessionStateBody['state']): SessionStateBody {
    return { callId, state, reason: null, lines: [] };
  }
  async add(client: string, body: SessionAddBody) {
    this.calls.push({ op: 'add', client, body });
    return ok(this.state(body.callId, 'active'));
  }
  async modify(client: string, body: SessionAddBody) {
    this.calls.push({ op: 'modify', client, body });
    return ok(this.state(body.callId, 'active'));
  }
  async remove(client: string, body: SessionDeleteBody) {
    this.calls.push({ op: 'remove', client, body });
    if (body.callId === 'unknown@x') return { ok: false as const, error: { code: 'E_NOT_FOUND', message: 'no such session', path: 'callId' } };
    return ok(this.state(body.callId, 'ended'));
  }
  async get(callId: string) {
    return callId === addFixture.callId ? this.state(callId, 'active') : null;
  }
  async health() {
    return { ok: true };
  }
}

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; path: string } }).error;

describe('session API over HTTP', () => {
  const api = new RecordingApi();
  let http: HttpApi;
  let base = '';
  const keyed = new RecordingApi();
  let keyedHttp: HttpApi;
  let keyedBase = '';

  beforeAll(async () => {
    http = new HttpApi(api, { host: '127.0.0.1', port: 0, maxBodyBytes: 8192 });
    const at = await http.start();
    base = `http://127.0.0.1:${at.port}`;
    keyedHttp = new HttpApi(keyed, { host: '127.0.0.1', port: 0, apiKeys: new Map([['pbx-1', 's3cret-key']]) });
    keyedBase = `http://127.0.0.1:${(await keyedHttp.start()).port}`;
  });
  afterAll(async () => {
    await http.stop();
    await keyedHttp.stop();
  });

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });

  it('passes a valid add through with the client id and answers with the session state', async () => {
    const res = await call('POST', '/v1/sessions', addFixture, { 'x-callqos-client': 'pbx-1' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ callId: addFixture.callId, state: 'active', reason: null, lines: [] });
    expect(api.calls.at(-1)).toMatchObject({ op: 'add', client: 'pbx-1', body: { callId: addFixture.callId } });
  });

  it('refuses an invalid body with 400 naming the field, and the service never sees it', async () => {
    const before = api.calls.length;
    const bad = { ...addFixture, media: [{ ...addFixture.media[0], offer: { address: '192.168.1.300', port: 5 } }] };
    const res = await call('POST', '/v1/sessions', bad);
    expect(res.status).toBe(400);
    expect((await errorOf(res))).toMatchObject({ code: 'E_FORMAT', path: 'media[0].offer.address' });
    const notJson = await call('POST', '/v1/sessions', '{"callId": ');
    expect(notJson.status).toBe(400);
    expect((await errorOf(notJson)).code).toBe('E_JSON');
    expect(api.calls.length).toBe(before);
  });

  it('takes the call id of PUT and DELETE from the path, and refuses a body naming another call', async () => {
    const id = encodeURIComponent(addFixture.callId);
    const { callId: _omitted, ...withoutId } = addFixture;
    expect((await call('PUT', `/v1/sessions/${id}`, withoutId)).status).toBe(200);
    expect(api.calls.at(-1)).toMatchObject({ op: 'modify', body: { callId: addFixture.callId } });
    const clash = await call('PUT', `/v1/sessions/${id}`, { ...addFixture, callId: 'other@x' });
    expect(clash.status).toBe(400);
    expect((await errorOf(clash)).code).toBe('E_CONFLICT');
    expect((await call('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    expect(api.calls.at(-1)).toEqual({ op: 'remove', client: 'http', body: { callId: addFixture.callId } });
    const missing = await call('DELETE', '/v1/sessions/unknown%40x', { reason: 'BYE' });
    expect(missing.status).toBe(404);
  });

  it('answers GET, 404 for unknown sessions and paths, 405 for wrong methods, 413 for huge bodies', async () => {
    expect(await (await call('GET', `/v1/sessions/${encodeURIComponent(addFixture.callId)}`)).json()).toMatchObject({ state: 'active' });
    expect((await call('GET', '/v1/sessions/nobody%40x')).status).toBe(404);
    expect((await call('GET', '/v2/sessions')).status).toBe(404);
    expect((await call('POST', '/v1/sessions/x%40y', addFixture)).status).toBe(405);
    expect((await call('POST', '/v1/sessions', 'x'.repeat(9000))).status).toBe(413);
    expect((await call('POST', '/v1/sessions', addFixture, { 'x-callqos-client': 'a/b' })).status).toBe(400);
    expect(await (await call('GET', '/v1/health')).json()).toEqual({ ok: true });
  });

  it('with API keys, refuses an unknown client or a wrong key', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${keyedBase}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(addFixture) });
    expect((await post({ 'x-callqos-client': 'pbx-1', authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post({ 'x-callqos-client': 'pbx-2', authorization: 'Bearer s3cret-key' })).status).toBe(401);
    expect((await post({ authorization: 'Bearer s3cret-key' })).status).toBe(401);
    expect(keyed.calls).toHaveLength(0);
    expect((await post({ 'x-callqos-client': 'pbx-1', authorization: 'Bearer s3cret-key' })).status).toBe(200);
    expect(keyed.calls).toHaveLength(1);
  });
});
