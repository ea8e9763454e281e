import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAdminLoginFile } from './setup.ts';

describe('readAdminLoginFile (--dynsec-login)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'callqos-dynsec-login-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, text: string, mode = 0o600): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  }

  it('reads user:password from a file only its owner can read, the password taken whole', () => {
    expect(readAdminLoginFile(file('ok', 'admin:pa:ss word\n'))).toEqual({ ok: true, value: { username: 'admin', password: 'pa:ss word' } });
    expect(readAdminLoginFile(file('ro', 'admin:secret', 0o400))).toMatchObject({ ok: true });
  });

  it('refuses a file others may read or write, naming the mode and the option', () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      expect(readAdminLoginFile(file(`m${mode.toString(8)}`, 'admin:secret', mode))).toMatchObject({ ok: false, error: { code: 'E_ARGS', path: '--dynsec-login', message: expect.stringContaining(`mode ${mode.toString(8)}`) as string } });
    }
  });

  it('refuses what is not one user:password line, a missing file and a directory', () => {
    for (const text of ['admin', ':secret', 'admin:', 'admin:secret\nother:x', 'ad min:secret']) {
      expect(readAdminLoginFile(file('bad', text))).toMatchObject({ ok: false, error: { code: 'E_ARGS', path: '--dynsec-login' } });
    }
    expect(readAdminLoginFile(join(dir, 'missing'))).toMatchObject({ ok: false, error: { message: expect.stringContaining('ENOENT') as string } });
    expect(readAdminLoginFile(dir)).toMatchObject({ ok: false, error: { message: expect.stringContaining('not a regular file') as string } });
  });
});
