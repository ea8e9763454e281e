/** `callqos-cloud operators add|list` on a SQLite file: the printed password logs in; bad arguments change nothing. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Auth } from '../../../src/cloud/http/auth.ts';
import { runOperatorsCli } from '../../../src/cloud/http/operators-cli.ts';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import { makeTempDir } from '../../support/temp.ts';

const temp = makeTempDir('operators-cli');
afterAll(() => temp.remove());

async function cli(...argv: string[]): Promise<{ status: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runOperatorsCli(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { status, out, err };
}

describe('callqos-cloud operators', () => {
  it('add prints a generated password once; it logs in with the role and domain given', async () => {
    const url = `sqlite:${join(temp.path, 'data', 'callqos.db')}`;
    const added = await cli('add', 'first-admin', '--role', 'admin', '--domain', 'dom-a', '--store', url);
    expect(added.status).toBe(0);
    expect(added.out).toHaveLength(1);
    const password = added.out[0]!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);

    expect((await cli('add', 'first-admin', '--store', url)).status).toBe(1);
    const bad = await cli('add', 'two words', '--store', url);
    expect(bad.status).toBe(2);
    expect(bad.err.join('\n')).toContain('username');
    expect((await cli('add', 'x', '--role', 'root', '--store', url)).status).toBe(2);
    expect((await cli('list', '--store', url)).out).toEqual(['first-admin\tadmin\tdom-a']);

    const store = await openStore(url);
    try {
      await store.migrate();
      const fleet = openFleetStore(store);
      const login = await new Auth(fleet, () => Date.now()).login('first-admin', password, '127.0.0.1');
      expect(login.ok && login.value.operator.role).toBe('admin');
      expect(login.ok && login.value.operator.domain).toBe('dom-a');
      expect((await fleet.listAudit({ limit: 5 })).map((a) => [a.actor, a.action])).toEqual([['cli', 'operator.create']]);
    } finally {
      await store.close();
    }
  });
});
