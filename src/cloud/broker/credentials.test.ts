import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../../test/support/temp.ts';
import { authenticateLogin, hashPassword, hashPasswordAsync, loadCredentials, parseCredentials, saveCredentials, verifyPassword } from './credentials.ts';
import { runCredentialsCli } from './credentials-cli.ts';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function run(argv: string[]): { status: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const status = runCredentialsCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { status, out, err };
}

describe('credentials', () => {
  it('hashes with a random salt and verifies only the right password', async () => {
    const a = hashPassword('secret');
    const b = hashPassword('secret');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt:16384:8:1:/);
    expect(await verifyPassword('secret', a)).toBe(true);
    expect(await verifyPassword('secret', b)).toBe(true);
    expect(await verifyPassword('Secret', a)).toBe(false);
    expect(await verifyPassword('secret', 'scrypt:1:1:1:AAAA:BBBB')).toBe(false);
    expect(await verifyPassword('secret', 'plain')).toBe(false);
  });

  it('hashes off the event loop into the same format', async () => {
    const a = await hashPasswordAsync('secret');
    expect(a).toMatch(/^scrypt:16384:8:1:/);
    expect(a).not.toBe(await hashPasswordAsync('secret'));
    expect(await verifyPassword('secret', a)).toBe(true);
    expect(await verifyPassword('Secret', a)).toBe(false);
  });

  it('authenticates to a principal of the stored kind', async () => {
    const entries = parseCredentials(JSON.stringify({ user: 'pbx-1', kind: 'cc', hash: hashPassword('pw') }));
    expect(await authenticateLogin(entries, 'pbx-1', Buffer.from('pw'))).toEqual({ kind: 'cc', id: 'pbx-1' });
    expect(await authenticateLogin(entries, 'pbx-1', 'nope')).toBeUndefined();
    expect(await authenticateLogin(entries, 'pbx-2', 'pw')).toBeUndefined();
    expect(await authenticateLogin(entries, undefined, undefined)).toBeUndefined();
  });

  it('keeps a disabled login in the file and refuses it at login', async () => {
    const dir = makeTempDir('credentials-disabled');
    dirs.push(dir);
    const file = join(dir.path, 'credentials.jsonl');
    saveCredentials(file, new Map([['owrt-a', { user: 'owrt-a', kind: 'device', hash: hashPassword('pw'), disabled: true }]]));
    const entries = loadCredentials(file);
    expect(entries.get('owrt-a')?.disabled).toBe(true);
    expect(await authenticateLogin(entries, 'owrt-a', 'pw')).toBeUndefined();
    expect(parseCredentials(`{"user":"a","kind":"enrol","disabled":false,"hash":"${hashPassword('x')}"}`).get('a')).not.toHaveProperty('disabled');
    expect(() => parseCredentials(`{"user":"a","kind":"device","disabled":"yes","hash":"${hashPassword('x')}"}`)).toThrow(/line 1: field disabled/);
  });

  it('names the line and field of a bad entry', () => {
    const hash = hashPassword('x');
    expect(() => parseCredentials(`{"user":"a","kind":"device","hash":"${hash}"}\n{"user":"a/b","kind":"device","hash":"${hash}"}`))
      .toThrow(/line 2: field user/);
    expect(() => parseCredentials(`{"user":"a","kind":"admin","hash":"${hash}"}`)).toThrow(/line 1: field kind/);
    expect(() => parseCredentials('{"user":"a","kind":"cc","hash":"md5:x"}')).toThrow(/field hash/);
    expect(() => parseCredentials(`{"user":"a","kind":"cc","hash":"${hash}"}\n{"user":"a","kind":"device","hash":"${hash}"}`)).toThrow(/twice/);
    expect(() => parseCredentials('not json')).toThrow(/line 1: not JSON/);
    expect(parseCredentials(`[{"user":"a","kind":"server","hash":"${hash}"}]`).get('a')?.kind).toBe('server');
    expect(() => parseCredentials(`{"user":"a","kind":"device","domain":"x/y","hash":"${hash}"}`)).toThrow(/line 1: field domain/);
    expect(parseCredentials(`{"user":"a","kind":"device","domain":"example-net","hash":"${hash}"}`).get('a')?.domain).toBe('example-net');
  });

  it('adds, lists, rotates and removes logins through the CLI, in a 0600 file', async () => {
    const dir = makeTempDir('cred-cli');
    dirs.push(dir);
    const file = join(dir.path, 'credentials.jsonl');
    const added = run(['--file', file, 'add', 'device', 'owrt-1']);
    expect(added.status).toBe(0);
    const password = added.out[0]!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(readFileSync(file, 'utf8')).not.toContain(password);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(run(['--file', file, 'add', 'cc', 'pbx-1']).status).toBe(0);
    expect(run(['--file', file, 'list']).out).toEqual(['owrt-1\tdevice', 'pbx-1\tcc']);
    expect(run(['--file', file, 'add', 'device', 'owrt-1']).err.join()).toMatch(/already exists/);
    expect(run(['--file', file, 'add', 'robot', 'x']).status).toBe(2);
    const rotated = run(['--file', file, 'rotate', 'owrt-1']).out[0]!;
    const entries = loadCredentials(file);
    expect(await verifyPassword(rotated, entries.get('owrt-1')!.hash)).toBe(true);
    expect(await verifyPassword(password, entries.get('owrt-1')!.hash)).toBe(false);
    expect(run(['--file', file, 'remove', 'owrt-1']).status).toBe(0);
    expect(run(['--file', file, 'remove', 'owrt-1']).status).toBe(1);
    expect(run(['--file', file, 'list']).out).toEqual(['pbx-1\tcc']);
    expect(run(['--file', file, 'frobnicate']).status).toBe(2);
    expect(run(['--file', file, '--bogus', 'list']).err.join()).toMatch(/unknown option --bogus/);
    expect(run(['--file']).err.join()).toMatch(/--file needs a value/);
  });

  it('regenerates the Mosquitto ACL with a block for each call-control client', () => {
    const dir = makeTempDir('cred-acl');
    dirs.push(dir);
    const file = join(dir.path, 'credentials.jsonl');
    const acl = join(dir.path, 'callqos.acl');
    writeFileSync(file, '');
    expect(run(['--file', file, '--mosquitto-acl', acl, 'add', 'cc', 'pbx-9']).status).toBe(0);
    const text = readFileSync(acl, 'utf8');
    expect(text).toContain('pattern write callqos/v1/dev/%u/up');
    expect(text).toContain('user pbx-9\ntopic deny callqos/v1/dev/#\ntopic write callqos/v1/cc/pbx-9/req\ntopic read callqos/v1/cc/pbx-9/res');
  });
});
