import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startEmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { addCredential, loadCredentials, parseCredentials, rotateCredential, removeCredential, hashPassword } from '../../../src/cloud/broker/credentials.ts';
import { makeTempDir } from '../../support/temp.ts';
import { LOGINS, brokerAclCases, quietLog } from './acl-cases.ts';
import { collect, connectPlain, publishPlain, subscribePlain, waitFor } from './support.ts';

function credentialsText(): string {
  return LOGINS.map((l) => JSON.stringify({ user: l.user, kind: l.kind, ...(l.domain ? { domain: l.domain } : {}), hash: hashPassword(l.password) })).join('\n');
}

describe('embedded broker (aedes) with credentials', () => {
  brokerAclCases(async () => {
    const broker = await startEmbeddedBroker({ port: 0, credentials: parseCredentials(credentialsText()), log: quietLog });
    return { port: broker.port, stop: () => broker.close() };
  });
});

describe('embedded broker specifics', () => {
  it('speaks 3.1.1 to the server client, which then subscribes without $share', async () => {
    const broker = await startEmbeddedBroker({ port: 0, credentials: parseCredentials(credentialsText()), log: quietLog });
    try {
      const server = await connectServerMqtt({
        url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'qos-1', username: 'qos-1', password: 'server-secret-1', shareGroup: 'qos', log: quietLog,
      });
      expect(server.protocolVersion).toBe(4);
      expect(server.sharedSubscriptions).toBe(false);
      const got: string[] = [];
      await server.subscribe('$share/qos/callqos/v1/dev/+/up', (_t, text) => got.push(text));
      const device = await connectPlain(broker.port, { username: 'owrt-a', password: 'device-a-secret', protocolVersion: 4 });
      await publishPlain(device, 'callqos/v1/dev/owrt-a/up', 'hello');
      await waitFor(() => got.includes('hello'), 'the uplink');
      device.end(true);
      await server.close();
    } finally {
      await broker.close();
    }
  });

  it('reconnects the server client after a broker restart and subscribes again', async () => {
    const credentials = parseCredentials(credentialsText());
    let broker = await startEmbeddedBroker({ port: 0, credentials, log: quietLog });
    const port = broker.port;
    const server = await connectServerMqtt({
      url: `mqtt://127.0.0.1:${port}`, clientId: 'qos-1', username: 'qos-1', password: 'server-secret-1', reconnectPeriodMs: 100, log: quietLog,
    });
    try {
      const got: string[] = [];
      await server.subscribe('callqos/v1/dev/+/up', (_t, text) => got.push(text));
      await broker.close();
      broker = await startEmbeddedBroker({ port, credentials, log: quietLog });
      const device = await connectPlain(port, { username: 'owrt-a', password: 'device-a-secret', protocolVersion: 4 });
      // Until the server client is back and subscribed, uplinks are lost: keep sending until one arrives.
      await waitFor(() => {
        device.publish('callqos/v1/dev/owrt-a/up', 'after-restart', { qos: 1 });
        return got.includes('after-restart');
      }, 'an uplink after the restart', 10_000);
      device.end(true);
    } finally {
      await server.close();
      await broker.close();
    }
  });

  it('refuses at connect a will aimed at another device\'s topic', async () => {
    const broker = await startEmbeddedBroker({ port: 0, credentials: parseCredentials(credentialsText()), log: quietLog });
    try {
      const will = { topic: 'callqos/v1/dev/owrt-b.lab/status', payload: Buffer.from('x'), qos: 1 as const, retain: false };
      await expect(connectPlain(broker.port, { username: 'owrt-a', password: 'device-a-secret', protocolVersion: 4, will })).rejects.toThrow(/Not authorized/i);
      const own = await connectPlain(broker.port, {
        username: 'owrt-a', password: 'device-a-secret', protocolVersion: 4, will: { ...will, topic: 'callqos/v1/dev/owrt-a/status' },
      });
      own.end(true);
    } finally {
      await broker.close();
    }
  });

  it('lets anyone in as a server in open mode, and no further than callqos/v1', async () => {
    const warnings: string[] = [];
    const broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: { info: () => {}, warn: (m) => warnings.push(m) } });
    try {
      expect(warnings.some((w) => w.includes('OPEN MODE'))).toBe(true);
      const anyone = await connectPlain(broker.port, { protocolVersion: 4 });
      const got = collect(anyone);
      expect(await subscribePlain(anyone, 'callqos/v1/#')).toBe(1);
      expect(await subscribePlain(anyone, '#')).toBe(128);
      await publishPlain(anyone, 'callqos/v1/dev/x/up', 'open-up');
      await waitFor(() => got.some((m) => m.text === 'open-up'), 'the message');
      anyone.end(true);
    } finally {
      await broker.close();
    }
  });

  it('manages the credentials file: add, rotate, remove; old passwords stop working', async () => {
    const dir = makeTempDir('creds');
    try {
      const file = join(dir.path, 'credentials.jsonl');
      const first = addCredential(file, 'device', 'owrt-new');
      expect(() => addCredential(file, 'cc', 'owrt-new')).toThrow(/already exists/);
      expect(() => addCredential(file, 'device', 'bad/id')).toThrow(/invalid id/);
      const broker = await startEmbeddedBroker({ port: 0, credentials: loadCredentials(file), log: quietLog });
      try {
        const c = await connectPlain(broker.port, { username: 'owrt-new', password: first, protocolVersion: 4 });
        c.end(true);
        const rotated = rotateCredential(file, 'owrt-new');
        broker.setCredentials(loadCredentials(file));
        await expect(connectPlain(broker.port, { username: 'owrt-new', password: first, protocolVersion: 4 })).rejects.toThrow();
        const d = await connectPlain(broker.port, { username: 'owrt-new', password: rotated.password, protocolVersion: 4 });
        d.end(true);
        expect(removeCredential(file, 'owrt-new')).toBe(true);
        expect(removeCredential(file, 'owrt-new')).toBe(false);
        broker.setCredentials(loadCredentials(file));
        await expect(connectPlain(broker.port, { username: 'owrt-new', password: rotated.password, protocolVersion: 4 })).rejects.toThrow();
      } finally {
        await broker.close();
      }
    } finally {
      dir.remove();
    }
  });
});
