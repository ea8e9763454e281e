import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { Outbox } from './outbox.ts';

describe('Outbox', () => {
  it('logs a message it cannot build at error with the field path, publishes nothing, and hands the failure back', () => {
    const published: string[] = [];
    const lines: string[] = [];
    const outbox = new Outbox({ publish: (_topic, text) => published.push(text) }, createLogger((l) => lines.push(l), 'debug'), 'qos-1', 1);
    const sent = outbox.toClient('pbx-1', { callId: 'c1', state: 'rejected', reason: 'r'.repeat(300), lines: [] }, 'pbx-1:1:1');
    expect(sent).toMatchObject({ ok: false, error: { code: 'E_LENGTH', path: 'body.reason' } });
    expect(published).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: cannot build a message; not sent .*type=session\.state .*to=cc:pbx-1 .*code=E_LENGTH .*path=body\.reason/);
    const fine = outbox.toClient('pbx-1', { callId: 'c1', state: 'rejected', reason: 'r'.repeat(256), lines: [] }, 'pbx-1:1:1');
    expect(fine.ok).toBe(true);
    expect(published).toHaveLength(1);
  });
});
