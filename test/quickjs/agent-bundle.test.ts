import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { findNodeBuiltinReferences } from '../../scripts/bundle-check.mjs';
import { parseAgentConfig } from '../../src/core/config/index.ts';
import { renderNftBatch } from '../../src/core/dataplane/render-nft.ts';
import { dataplaneSettings } from '../../src/core/dataplane/settings.ts';
import { bundles } from '../support/bundles.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function runAgent(...args: string[]) {
  return spawnSync(inject('qjsPath'), ['-m', bundles.agent, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('router bundle under qjs 2021-03-27', () => {
  it('prints its version', () => {
    const run = runAgent('--version');
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`callqos-agent ${pkg.version}\n`);
    expect(run.status).toBe(0);
  });

  it('rejects an unknown command with usage and exit code 2', () => {
    const run = runAgent('frobnicate');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
  });

  it('is one ES module that imports only std and os and mentions no Node built-in', () => {
    const code = readFileSync(bundles.agent, 'utf8');
    expect(findNodeBuiltinReferences(code)).toEqual([]);
    const imports = [...code.matchAll(/import\s*\*?\s*as\s*\w+\s*from\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(imports)).toEqual(new Set(['std', 'os']));
  });

  it('renders the example config under qjs exactly as the same core code does under Node', () => {
    const path = new URL('../../openwrt/examples/callqos.uci', import.meta.url).pathname;
    const run = runAgent('render', '--config', path);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const parsed = parseAgentConfig(readFileSync(path, 'utf8'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const { gates } = parsed.value.config;
    const expected = renderNftBatch(
      dataplaneSettings(parsed.value.config),
      gates.map((gate) => ({ ...gate, lifetimeS: null })),
    );
    expect(expected.ok && expected.value).toBe(run.stdout);
    expect(run.stdout).toContain('192.168.1.20 . 10000 . 0.0.0.0/0 . 0-65535 counter limit rate 13750 bytes/second burst 3000 bytes comment "deskphone" : goto mark_ef_v4');
  });

  it('reports a missing config file by path and errno, with exit code 1', () => {
    const run = runAgent('render', '--config', '/nonexistent/callqos');
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('error: cannot read config path=/nonexistent/callqos code=ENOENT\n');
    expect(run.stdout).toBe('');
  });
});
