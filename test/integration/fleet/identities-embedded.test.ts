import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { startEmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { hashPassword, loadCredentials, saveCredentials } from '../../../src/cloud/broker/credentials.ts';
import { createEmbeddedIdentities } from '../../../src/cloud/fleet/identities-embedded.ts';
import { makeTempDir } from '../../support/temp.ts';
import { quietLog } from '../broker/acl-cases.ts';
import { collect, connectPlain, publishPlain, waitFor } from '../broker/support.ts';
import { identitiesCases } from './identities-cases.ts';

describe('embedded identities on the aedes broker with a credentials file', () => {
  let file = '';
  identitiesCases(async () => {
    const dir = makeTempDir('identities-embedded');
    file = join(dir.path, 'credentials.jsonl');
    saveCredentials(file, new Map([['observer', { user: 'observer', kind: 'server', hash: hashPassword('observer-secret') }]]));
    const broker = await startEmbeddedBroker({ port: 0, credentials: loadCredentials(file), log: quietLog });
    return {
      port: broker.port,
      identities: createEmbeddedIdentities({ credentialsFile: file, broker }),
      observer: { username: 'observer', password: 'observer-secret' },
      stop: async () => {
        await broker.close();
        dir.remove();
      },
    };
  });

  it('keeps the logins in the credentials file the broker reads at its next start (0600)', () => {
    const entries = loadCredentials(file);
    expect(entries.get('callqos-enrol')?.kind).toBe('enrol');
    expect(entries.get('owrt-a')).toMatchObject({ kind: 'device' });
    expect(entries.get('owrt-a')?.disabled).toBeUndefined();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('embedded identities on a broker in open mode (development)', () => {
  it('records the logins and closes a disabled device\'s connection, but the device gets in again: open mode is not secure', async () => {
    const dir = makeTempDir('identities-open');
    const file = join(dir.path, 'credentials.jsonl');
    const broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quietLog });
    try {
      const identities = createEmbeddedIdentities({ credentialsFile: file, broker });
      expect((await identities.prepare()).ok).toBe(true);
      expect((await identities.upsertDevice('owrt-a', 'password-of-a-0123456789')).ok).toBe(true);
      const live = await connectPlain(broker.port, { username: 'owrt-a', password: 'password-of-a-0123456789', clientId: 'owrt-a-1' });
      const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));
      expect((await identities.disableDevice('owrt-a')).ok).toBe(true);
      await closed;
      expect(loadCredentials(file).get('owrt-a')?.disabled).toBe(true);
      // Open mode lets anyone in, as a server, whatever the file says.
      const again = await connectPlain(broker.port, { username: 'owrt-a', password: 'wrong', clientId: 'owrt-a-2' });
      const got = collect(again);
      again.subscribe('callqos/v1/dev/owrt-b/down');
      await waitFor(() => again.connected, 'connected');
      const other = await connectPlain(broker.port, { clientId: 'anyone' });
      await publishPlain(other, 'callqos/v1/dev/owrt-b/down', 'open-mode');
      await waitFor(() => got.some((m) => m.text === 'open-mode'), 'delivery in open mode');
      again.end(true);
      other.end(true);
    } finally {
      await broker.close();
      dir.remove();
    }
  });
});
