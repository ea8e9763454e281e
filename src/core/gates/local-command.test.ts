import { describe, expect, it } from 'vitest';
import { parseLocalCommand, replyNameOf } from './local-command.ts';

const gate = { id: 'g1', direction: 'both', lan: { address: '192.168.1.20', port: 5004 }, remote: { address: null, port: null }, dscp: 46, rateKbps: 100, lifetimeS: 600 };

describe('local commands', () => {
  it('reads gate_add into a data-plane gate (kbit/s) and keeps the reply name', () => {
    expect(parseLocalCommand(JSON.stringify({ cmd: 'gate_add', gate, reply: 'r-1' }))).toEqual({
      ok: true,
      value: { cmd: 'gate_add', reply: 'r-1', gate: { id: 'g1', direction: 'both', lan: gate.lan, remote: gate.remote, dscp: 46, rateKbit: 100, lifetimeS: 600 } },
    });
  });

  it('reads gate_remove, reconcile and reload', () => {
    expect(parseLocalCommand('{"cmd":"gate_remove","id":"g1"}')).toEqual({ ok: true, value: { cmd: 'gate_remove', reply: null, id: 'g1' } });
    expect(parseLocalCommand('{"cmd":"reconcile"}')).toEqual({ ok: true, value: { cmd: 'reconcile', reply: null } });
    expect(parseLocalCommand('{"cmd":"reload","reply":"x"}')).toEqual({ ok: true, value: { cmd: 'reload', reply: 'x' } });
  });

  it.each([
    ['{"cmd":"__proto__"}', 'cmd'],
    ['{"cmd":"constructor"}', 'cmd'],
    ['{"cmd":"reload","extra":1}', 'extra'],
    ['{"cmd":"reload","reply":"../../etc/passwd"}', 'reply'],
    ['{"cmd":"gate_remove","id":""}', 'id'],
    [JSON.stringify({ cmd: 'gate_add', gate: { ...gate, lan: { address: '10.0.0.1; flush ruleset', port: 1 } } }), 'gate.lan.address'],
    ['[1]', ''],
  ])('refuses %s, naming %j', (line, path) => {
    const parsed = parseLocalCommand(line);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.path ?? '').toBe(path);
  });

  it('finds the reply name of a refused command, but never an unsafe one', () => {
    expect(replyNameOf('{"cmd":"nope","reply":"r7"}')).toBe('r7');
    expect(replyNameOf('{"cmd":"nope","reply":"../x"}')).toBeNull();
    expect(replyNameOf('not json')).toBeNull();
  });
});
