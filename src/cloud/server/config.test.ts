import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ownRoot, parseServerArgs, peerRoot } from './config.ts';

describe('server arguments', () => {
  it('gives the embedded defaults with no arguments, and takes each option', () => {
    expect(parseServerArgs([])).toEqual({ ok: true, value: DEFAULT_CONFIG });
    const r = parseServerArgs(['--broker', 'mqtt://192.0.2.10:1883', '--store', 'postgres://u@h/db', '--http', '[::1]:9000', '--deadline-ms', '750', '--offline', 'wait', '--share-group', 'qos']);
    expect(r.ok && r.value).toMatchObject({ brokerUrl: 'mqtt://192.0.2.10:1883', storeUrl: 'postgres://u@h/db', httpHost: '::1', httpPort: 9000, decisionDeadlineMs: 750, offlinePolicy: 'wait', shareGroup: 'qos' });
  });

  it('names the flag of every bad value', () => {
    const cases: Array<[string[], string]> = [
      [['--http', 'localhost'], '--http'],
      [['--http', 'h:70000'], '--http'],
      [['--deadline-ms', '5'], '--deadline-ms'],
      [['--deadline-ms', '1e3'], '--deadline-ms'],
      [['--offline', 'maybe'], '--offline'],
      [['--id', 'a/b'], '--id'],
      [['--store', 'mysql://x'], '--store'],
      [['--broker', 'http://x'], '--broker'],
      [['--frobnicate', '1'], '--frobnicate'],
      [['--store'], '--store'],
      [['--topic-tree', 'shared'], '--topic-tree'],
    ];
    for (const [argv, flag] of cases) expect(parseServerArgs(argv)).toMatchObject({ ok: false, error: { code: 'E_ARGS', path: flag } });
  });

  it('puts a server in its domain\'s topic tree, and its peers in theirs, only with --topic-tree domain', () => {
    const plain = parseServerArgs(['--domain', 'domain-a', '--peer', 'domain-b=qos-b@198.18.20.0/24']);
    const shared = parseServerArgs(['--domain', 'domain-a', '--peer', 'domain-b=qos-b@198.18.20.0/24', '--topic-tree', 'domain']);
    if (!plain.ok || !shared.ok) throw new Error('arguments refused');
    expect([ownRoot(plain.value), peerRoot(plain.value, plain.value.peers[0]!)]).toEqual(['callqos/v1', 'callqos/v1']);
    expect([ownRoot(shared.value), peerRoot(shared.value, shared.value.peers[0]!)]).toEqual(['domain-a/callqos/v1', 'domain-b/callqos/v1']);
    // Without --domain the domain is the server's id.
    const byId = parseServerArgs(['--id', 'qos-x', '--topic-tree', 'domain']);
    expect(byId.ok && ownRoot(byId.value)).toBe('qos-x/callqos/v1');
  });

  it('chooses where enrolled routers get their logins, and refuses a choice that does not fit the broker', () => {
    expect(parseServerArgs(['--identities', 'embedded', '--credentials', 'data/c.jsonl', '--enrol-retry-s', '30'])).toMatchObject({ ok: true, value: { identities: 'embedded', credentialsFile: 'data/c.jsonl', enrolRetryS: 30 } });
    expect(parseServerArgs(['--identities', 'dynsec', '--broker', 'mqtt://127.0.0.1:1883', '--dynsec-login', 'admin.login'])).toMatchObject({ ok: true, value: { identities: 'dynsec', dynsecLoginFile: 'admin.login' } });
    const cases: Array<[string[], string]> = [
      [['--identities', 'ldap'], '--identities'],
      [['--identities', 'embedded'], '--credentials'],
      [['--identities', 'embedded', '--credentials', 'c', '--broker', 'mqtt://h:1'], '--identities'],
      [['--identities', 'dynsec', '--dynsec-login', 'f'], '--broker'],
      [['--identities', 'dynsec', '--broker', 'mqtt://h:1'], '--dynsec-login'],
      [['--dynsec-login', 'f'], '--dynsec-login'],
      [['--enrol-retry-s', '0'], '--enrol-retry-s'],
    ];
    for (const [argv, flag] of cases) expect(parseServerArgs(argv)).toMatchObject({ ok: false, error: { code: 'E_ARGS', path: flag } });
  });

  it('takes the clearinghouse\'s store for the dashboard as a store URL, none by default', () => {
    expect(parseServerArgs([])).toMatchObject({ ok: true, value: { clearinghouseStoreUrl: null } });
    expect(parseServerArgs(['--clearinghouse-store', 'sqlite:data/ch.db'])).toMatchObject({ ok: true, value: { clearinghouseStoreUrl: 'sqlite:data/ch.db' } });
    expect(parseServerArgs(['--clearinghouse-store', 'mysql://x'])).toMatchObject({ ok: false, error: { code: 'E_ARGS', path: '--clearinghouse-store' } });
  });
});
