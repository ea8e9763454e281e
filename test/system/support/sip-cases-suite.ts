/**
 * SIP calls beyond the plain one, through a given proxy with the whole stack (sip-stack.ts): audio
 * and video (two gates, two classes) and a re-INVITE that moves the audio; CANCEL before the
 * answer; a caller presenting a forged token; a lost BYE. Each phone is sipp with a scenario
 * written for these tests (test/system/fixtures/sipp/). A proxy runs the cases it supports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKey } from '../../../src/cloud/clearinghouse/keys.ts';
import { assembleToken, tokenSigningInput } from '../../../src/core/clearinghouse/token.ts';
import { CLOUD_ADDRESS, PHONE_A, PHONE_B, ROUTER_A_WAN } from './cloud-lab.ts';
import { until } from './cloud-rig.ts';
import { describeSystem } from './guard.ts';
import { SIP_STACK_TOOLS, SIPP_SCENARIOS, SipStack, type ProxyUnderTest } from './sip-stack.ts';

export type SipCase = 'audio-video-reinvite' | 'cancel' | 'forged-token' | 'lost-bye';
import { counted, observe, send } from './traffic.ts';

const scenario = (name: string) => join(SIPP_SCENARIOS, name);

export function sipCases(under: ProxyUnderTest, cases: readonly SipCase[]): void {
describeSystem(`SIP call cases through ${under.name}: ${cases.join(', ')}`, [...SIP_STACK_TOOLS, ...under.tools], () => {
  /** Registers a case only for a proxy that supports it: the others are not run at all, nor counted. */
  const run = (c: SipCase) => (name: string, fn: () => Promise<void>, timeout?: number) => {
    if (cases.includes(c)) it(name, fn, timeout);
  };
  const stack = new SipStack();
  const rig = stack.rig;
  /** A caller on phone A through the proxy to a callee on phone B at `port`. */
  const call = (uac: string, calleePort: number, callerPort: number, callId: string, extra: string[]) =>
    stack.sipp(rig.lab.phoneA, ['-sf', scenario(uac), `${PHONE_B.v4}:${calleePort}`, '-i', PHONE_A.v4, '-p', String(callerPort), '-rsa', `${CLOUD_ADDRESS}:5060`, '-s', 'bob', '-m', '1', '-cid_str', `${callId}-%u@lab`, ...extra]);
  const answerer = (uas: string, port: number, extra: string[]) => stack.sipp(rig.lab.phoneB, ['-sf', scenario(uas), '-i', PHONE_B.v4, '-p', String(port), '-m', '1', ...extra]);

  beforeAll(async () => {
    await stack.start(under);
    observe(rig.lab.phoneB, [50180, 50182, 50190]);
    observe(rig.lab.phoneA, [49180, 49184]);
  });

  afterAll(() => stack.stop());

  run('audio-video-reinvite')('gives audio EF and video AF41, and moves the audio gate on a re-INVITE without the call leaving active', async () => {
    answerer('uas-av-reinvite.xml', 5070, ['-key', 'sdp_port', '50180', '-key', 'video_port', '50182']);
    await new Promise((r) => setTimeout(r, 300));
    const caller = call('uac-av-reinvite.xml', 5070, 5080, 'av', ['-key', 'sdp_port', '49180', '-key', 'video_port', '49182', '-key', 'new_port', '49184']);
    const first = await rig.untilState('av-1@lab', 'active', 10_000);
    expect((first.lines as { line: number; state: string; gates: { dscp: number }[] }[]).map((l) => [l.line, l.state, l.gates.map((g) => g.dscp)])).toEqual([
      [0, 'active', [46, 46]],
      [1, 'active', [34, 34]],
    ]);
    send(rig.lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    send(rig.lab.phoneB, PHONE_B.v4, 50180, ROUTER_A_WAN, 49180, 0, 20);
    send(rig.lab.phoneA, PHONE_A.v4, 49182, PHONE_B.v4, 50182, 0, 20);
    expect(counted(rig.lab.phoneB, '4', 50180, 'ef')).toBe(20);
    expect(counted(rig.lab.phoneA, '4', 49180, 'ef')).toBe(20);
    expect(counted(rig.lab.phoneB, '4', 50182, 'af41')).toBe(20);

    // The re-INVITE moves phone A's audio to 49184: the line's gates are replaced, the call stays active.
    const states = new Set<string>();
    await until(() => {
      states.add(String(rig.api('GET', '/v1/sessions/av-1%40lab').state));
      return rig.gatesIn('A').includes('192.168.1.20 . 49184');
    }, 8000, () => `no gate for the new port:\n${rig.gatesIn('A')}\n${stack.proxy?.log.slice(-2000)}`);
    await rig.untilState('av-1@lab', 'active', 5000);
    expect([...states].filter((s) => s !== 'active' && s !== 'pending')).toEqual([]);
    expect(rig.gatesIn('A')).not.toContain('192.168.1.20 . 49180');
    send(rig.lab.phoneA, PHONE_A.v4, 49184, PHONE_B.v4, 50180, 0, 20);
    send(rig.lab.phoneB, PHONE_B.v4, 50180, ROUTER_A_WAN, 49184, 0, 20);
    expect(counted(rig.lab.phoneB, '4', 50180, 'ef')).toBe(40);
    expect(counted(rig.lab.phoneA, '4', 49184, 'ef')).toBe(20);

    expect(await caller.exit).toBe(0);
    await until(() => stack.cdrs('av-1@lab').length === 1, 15_000, () => `no CDR:\n${rig.server?.log.slice(-2000)}`);
    const [cdr] = stack.cdrs('av-1@lab');
    expect(cdr).toMatchObject({ service_class: 'video', released_by: 'caller' });
    const flows = JSON.parse(String(cdr!.flows)) as { line: number; direction: string; packets: number }[];
    expect(flows.find((f) => f.line === 1 && f.direction === 'forward')?.packets).toBe(20);
  });

  run('cancel')('leaves nothing installed when the caller cancels before the answer', async () => {
    answerer('uas-ring-cancel.xml', 5071, ['-key', 'sdp_port', '50185']);
    await new Promise((r) => setTimeout(r, 300));
    const caller = call('uac-cancel.xml', 5071, 5081, 'cancel', ['-key', 'sdp_port', '49186']);
    expect(await caller.exit).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(rig.api('GET', '/v1/sessions/cancel-1%40lab')).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
    expect(rig.gatesIn('A')).not.toContain('49186');
    expect(rig.gatesIn('B')).not.toContain('50185');
    expect(stack.cdrs('cancel-1@lab')).toEqual([]);
  });

  run('forged-token')('completes a call whose caller presents a forged token, best effort, with the reason logged', async () => {
    const forger = generateSigningKey('ch-1', join(stack.dir, 'forger.pem'), join(stack.dir, 'forger.json'));
    const now = Math.floor(Date.now() / 1000);
    // The clearinghouse's own key id, another key's signature.
    const kid = (JSON.parse(readFileSync(join(stack.dir, 'ch-keys.json'), 'utf8')) as { keys: { kid: string }[] }).keys[0]!.kid;
    const input = tokenSigningInput(kid, {
      iss: 'ch-1', aud: 'domain-a', jti: 'forged-1', iat: now, nbf: now, exp: now + 300, call: 'forged-1@lab', from: 'sip:caller@x', to: 'sip:bob@y',
      flows: [{ line: 0, offer: { address: PHONE_A.v4, port: 49188 }, answer: { address: PHONE_B.v4, port: 50190 }, dscp: 46, kbps: 80 }], maxs: 3600,
    });
    if (!input.ok) throw new Error(input.error.message);
    const forged = assembleToken(input.value, forger.sign(new TextEncoder().encode(input.value)));
    answerer('uas-answer.xml', 5072, ['-key', 'sdp_port', '50190']);
    await new Promise((r) => setTimeout(r, 300));
    const caller = call('uac-token.xml', 5072, 5082, 'forged', ['-key', 'sdp_port', '49188', '-key', 'token', forged]);
    expect(await caller.exit).toBe(0);
    const state = rig.api('GET', '/v1/sessions/forged-1%40lab');
    expect(['rejected', 'ended']).toContain(state.state);
    expect(String(rig.server?.log)).toMatch(/session not authorized: best effort .*call=forged-1@lab .*reason="E_NOT_AUTHORIZED: token refused: E_TOKEN_SIGNATURE/);
    expect(rig.gatesIn('A')).not.toContain('49188');
    send(rig.lab.phoneA, PHONE_A.v4, 49188, PHONE_B.v4, 50190, 0, 10);
    expect(counted(rig.lab.phoneB, '4', 50190, 'ef')).toBe(0);
    expect(counted(rig.lab.phoneB, '4', 50190, 'cs0')).toBe(10);
  });

  run('lost-bye')('ends a call whose BYE was lost when its dialog times out, and records its usage once', async () => {
    answerer('uas-answer-no-bye.xml', 5073, ['-key', 'sdp_port', '50195']);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const caller = call('uac-no-bye.xml', 5073, 5083, 'nobye', ['-key', 'sdp_port', '49196']);
    expect(await caller.exit).toBe(0);
    await rig.untilState('nobye-1@lab', 'active', 5000);
    await rig.untilState('nobye-1@lab', 'ended', 40_000);
    console.log(`lost BYE: the session ended ${Date.now() - started} ms after the call started (dialog timeout 10 s, checked every 10 s)`);
    await until(() => stack.cdrs('nobye-1@lab').length === 1, 15_000, () => `no CDR:\n${rig.server?.log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 1000));
    const cdrs = stack.cdrs('nobye-1@lab');
    expect(cdrs).toHaveLength(1);
    expect(cdrs[0]).toMatchObject({ released_by: 'network', reason: 'dialog timed out' });
    expect(rig.gatesIn('A')).not.toContain('49196');
  }, 90_000);
});
}
