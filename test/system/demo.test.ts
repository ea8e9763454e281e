/**
 * `npm run demo` as a newcomer runs it: the cloud program and two routers running the real agent
 * under Node, calls set up and torn down through the session API. Once with real nftables in
 * network namespaces (root), once with the recording stand-ins it uses without root.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../support/bundles.ts';
import { describeSystem } from './support/guard.ts';

function runDemo(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'demo.mjs')], { env: { ...process.env, CALLQOS_DEMO_CALLS: '2', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describeSystem('npm run demo', ['ip', 'nft', 'tc', 'mosquitto_sub', 'mosquitto_pub', 'curl'], () => {
  it('sets up calls on two routers with real nftables in network namespaces, and tears them down', async () => {
    const { code, out } = await runDemo({});
    expect(code, out).toBe(0);
    expect(out).toContain('with real nftables and tc');
    for (const i of [1, 2]) {
      const port = 40000 + 2 * i;
      expect(out).toMatch(new RegExp(`call demo-${i}@callqos: .* active in \\d+ ms`));
      // Each router's kernel held both class-map elements of the call.
      expect(out).toMatch(new RegExp(`router A nft: up_v4: 198\\.18\\.1\\.20 \\. ${port} \\. 198\\.18\\.2\\.20 \\. ${port + 1} counter`));
      expect(out).toMatch(new RegExp(`router B nft: down_v4: 198\\.18\\.2\\.20 \\. ${port + 1} \\. 198\\.18\\.1\\.20 \\. ${port} counter`));
      expect(out).toContain(`call demo-${i}@callqos: ended`);
    }
  }, 120_000);

  it('says so when it records the data plane instead, and runs the same flow', async () => {
    const { code, out } = await runDemo({ CALLQOS_DEMO_RECORD: '1' });
    expect(code, out).toBe(0);
    expect(out).toContain('RECORDING nft and tc');
    expect(out).toMatch(/call demo-2@callqos: .* active in \d+ ms/);
    expect(out).toMatch(/router A nft: add element inet callqos up_v4 \{ 198\.18\.1\.20 \. 40004 /);
    expect(out).toContain('call demo-2@callqos: ended');
  }, 120_000);
});
