import { describe, expect, it } from 'vitest';
import { SipTransport } from '../../../src/cloud/sip/transport.ts';
import type { SipResponse } from '../../../src/core/sip/message.ts';

const response: SipResponse = { kind: 'response', status: 200, reason: 'OK', headers: [{ name: 'Call-ID', value: 'late@lab' }], body: '' };

describe('SIP transport after close', () => {
  it('drops a message sent after close (an answer that outlived the proxy) instead of throwing', async () => {
    const lines: string[] = [];
    const log = { debug: (m: string) => lines.push(`debug ${m}`), info: () => {}, warn: (m: string) => lines.push(`warn ${m}`), error: () => {}, child: () => log };
    const transport = await SipTransport.listen('127.0.0.1', 0, log as never);
    await transport.close();
    // Before, UDP threw ERR_SOCKET_DGRAM_NOT_RUNNING here, unhandled where a timer or a promise sent it.
    expect(() => transport.send({ transport: 'UDP', host: '127.0.0.1', port: 9 }, response)).not.toThrow();
    expect(() => transport.send({ transport: 'TCP', host: '127.0.0.1', port: 9 }, response)).not.toThrow();
    expect(lines.filter((l) => l.includes('transport is closed'))).toHaveLength(2);
    await transport.close();
  });
});
