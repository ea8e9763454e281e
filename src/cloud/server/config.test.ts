import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseServerArgs } from './config.ts';

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
    ];
    for (const [argv, flag] of cases) expect(parseServerArgs(argv)).toMatchObject({ ok: false, error: { code: 'E_ARGS', path: flag } });
  });
});
