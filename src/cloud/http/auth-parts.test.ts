import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { clearedCookie, readCookie, sessionCookie } from './cookies.ts';
import { hashOperatorPassword, verifyOperatorPassword, generateOperatorPassword } from './passwords.ts';
import { FailureCounter } from './rate-limit.ts';
import { dashboardFile } from './static.ts';

const cheap = { N: 1024, r: 8, p: 1 };

describe('operator passwords', () => {
  it('hash as scrypt$N$r$p$salt$hash, verify the right password only', async () => {
    const stored = await hashOperatorPassword('a long password', cheap);
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyOperatorPassword('a long password', stored)).toBe(true);
    expect(await verifyOperatorPassword('a long passworD', stored)).toBe(false);
    // The same password hashes differently each time (a random salt).
    expect(await hashOperatorPassword('a long password', cheap)).not.toBe(stored);
  });

  it('refuses stored texts that are not ours, or costs that would stall the pool, without throwing', async () => {
    for (const bad of ['', 'plain', 'scrypt$1000$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA', 'scrypt$4194304$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA', 'scrypt:16384:8:1:a:b']) {
      expect(await verifyOperatorPassword('x', bad)).toBe(false);
    }
  });

  it('generated passwords are 32 url-safe characters, each new', () => {
    const a = generateOperatorPassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(generateOperatorPassword()).not.toBe(a);
  });
});

describe('session cookie', () => {
  it('reads its own cookie among others, and nothing malformed', () => {
    expect(readCookie('a=1; callqos_session=abc_-9; b=2', 'callqos_session')).toBe('abc_-9');
    expect(readCookie('callqos_sessionx=abc', 'callqos_session')).toBeUndefined();
    expect(readCookie('callqos_session="abc"', 'callqos_session')).toBeUndefined();
    expect(readCookie(undefined, 'callqos_session')).toBeUndefined();
    expect(readCookie(`callqos_session=${'a'.repeat(200)}`, 'callqos_session')).toBeUndefined();
  });

  it('is written HttpOnly, SameSite=Strict, Secure only when asked, and cleared with Max-Age=0', () => {
    expect(sessionCookie('s', 'v', { maxAgeS: 60.7, secure: false })).toBe('s=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60');
    expect(sessionCookie('s', 'v', { maxAgeS: 60, secure: true })).toBe('s=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure');
    expect(clearedCookie('s', false)).toBe('s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
  });
});

describe('failed-login counter', () => {
  it('blocks a key after max failures until its window ends; a success clears it', () => {
    const c = new FailureCounter({ max: 2, windowMs: 1000 });
    c.fail('u', 0);
    expect(c.blocked('u', 10)).toBe(false);
    c.fail('u', 20);
    expect(c.blocked('u', 30)).toBe(true);
    expect(c.retryAfterMs('u', 30)).toBe(970);
    expect(c.blocked('other', 30)).toBe(false);
    expect(c.blocked('u', 1000)).toBe(false);
    c.fail('v', 0);
    c.fail('v', 1);
    c.clear('v');
    expect(c.blocked('v', 2)).toBe(false);
  });

  it('keeps at most maxKeys keys, dropping the oldest', () => {
    const c = new FailureCounter({ max: 1, windowMs: 1000, maxKeys: 2 });
    c.fail('a', 0);
    c.fail('b', 0);
    c.fail('c', 0);
    expect(c.blocked('a', 1)).toBe(false);
    expect(c.blocked('c', 1)).toBe(true);
  });
});

describe('dashboard files', () => {
  const root = mkdtempSync(join(tmpdir(), 'dash-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<html>');
  writeFileSync(join(root, 'assets', 'app.css'), 'body{}');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('serves files with their type, the SPA index for app paths, nothing outside the root', async () => {
    expect((await dashboardFile(root, '/'))?.type).toBe('text/html; charset=utf-8');
    expect((await dashboardFile(root, '/assets/app.css'))?.type).toBe('text/css; charset=utf-8');
    expect(String((await dashboardFile(root, '/calls/abc?x=1'))?.body)).toBe('<html>');
    expect(await dashboardFile(root, '/assets/gone.js')).toBeNull();
    expect(await dashboardFile(root, '/../../etc/passwd')).toBeNull();
    expect(await dashboardFile(root, '/..%2F..%2Fetc%2Fhostname')).toBeNull();
    expect(await dashboardFile(root, '/%E0%A4%A')).toBeNull();
    expect(await dashboardFile(null, '/')).toBeNull();
  });

  it('says how to build the dashboard when index.html is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dash-empty-'));
    try {
      const f = await dashboardFile(empty, '/');
      expect(f?.status).toBe(503);
      expect(String(f?.body)).toContain('scripts/build.mjs');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
