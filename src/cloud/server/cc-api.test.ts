import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { decodeMessage } from '../../core/protocol/envelope.ts';
import type { SessionStateBody } from '../../core/protocol/messages/cc.ts';
import { coreError, ok } from '../../core/result.ts';
import { CcApi } from './cc-api.ts';
import type { SessionApi } from './http-api.ts';
import { Outbox } from './outbox.ts';

const api: SessionApi = {
  add: (_c, b) => Promise.resolve(ok<SessionStateBody>({ callId: b.callId, state: 'active', reason: null, lines: [] })),
  modify: (_c, b) => Promise.resolve(ok<SessionStateBody>({ callId: b.callId, state: 'active', reason: null, lines: [] })),
  remove: (_c, b) => Promise.resolve(ok<SessionStateBody>({ callId: b.callId, state: 'ended', reason: null, lines: [] })),
  get: () => Promise.resolve(null),
  health: () => Promise.resolve({}),
};

function setup() {
  const sent: { topic: string; body: unknown; corr: string | undefined }[] = [];
  const outbox = new Outbox({ publish: (topic, text) => {
    const m = decodeMessage(text);
    if (!m.ok) throw new Error(m.error.message);
    sent.push({ topic, body: m.value.body, corr: m.value.corr });
  } }, createLogger(() => {}), 'qos-1', 1);
  return { sent, cc: new CcApi(api, outbox, createLogger(() => {})) };
}

const error = coreError('E_LENGTH', 'length 300 is outside 1..256', 'body.callId');
const envelope = (over: Record<string, unknown>) => JSON.stringify({ v: 1, type: 'session.add', id: 'pbx-1:1:7', device: 'pbx-1', session: 1, seq: 7, ts: 1, body: { callId: 'c'.repeat(300) }, ...over });

describe('CcApi.refuseInvalid', () => {
  it('answers an invalid session request that names itself, on the client\'s res topic with corr = its id', () => {
    const { sent, cc } = setup();
    expect(cc.refuseInvalid('pbx-1', envelope({}), error)).toBe(true);
    expect(sent).toEqual([{ topic: 'callqos/v1/cc/pbx-1/res', corr: 'pbx-1:1:7', body: { callId: '-', state: 'rejected', reason: 'E_LENGTH: body.callId: length 300 is outside 1..256', lines: [] } }]);
  });

  it('answers nothing it cannot address: not JSON, no usable id, another sender, another type, or this server\'s own request', () => {
    const { sent, cc } = setup();
    expect(cc.refuseInvalid('pbx-1', '{"v":1,', error)).toBe(false);
    expect(cc.refuseInvalid('pbx-1', envelope({ id: 'has space' }), error)).toBe(false);
    expect(cc.refuseInvalid('pbx-1', envelope({ device: 'pbx-2' }), error)).toBe(false);
    expect(cc.refuseInvalid('pbx-1', envelope({ type: 'open' }), error)).toBe(false);
    expect(cc.refuseInvalid('qos-1', envelope({ device: 'qos-1' }), error)).toBe(false);
    expect(sent).toEqual([]);
  });
});
