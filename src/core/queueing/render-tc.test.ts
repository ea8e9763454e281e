import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TcCommand, TcShaping } from './model.ts';
import { formatTcCommands, renderTc, renderTcTeardown } from './render-tc.ts';

const shaping: TcShaping = {
  wanDevice: 'pppoe-wan',
  lanDevice: 'br-lan',
  uplinkKbit: 20_000,
  downlinkKbit: 100_000,
  efBudgetPercent: 30,
  backend: 'htb',
};

function golden(name: string, actual: string): void {
  const path = new URL(`../../../test/fixtures/queueing/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

function rendered(overrides: Partial<TcShaping> = {}): readonly TcCommand[] {
  const result = renderTc({ ...shaping, ...overrides });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** The value after `key` in the command that contains all of `words`. */
function option(commands: readonly TcCommand[], words: readonly string[], key: string): string | undefined {
  const argv = commands.find((c) => words.every((w) => c.argv.includes(w)))?.argv;
  return argv?.[argv.indexOf(key) + 1];
}

describe('renderTc', () => {
  it('renders the golden HTB commands, a FIFO bounded in bytes for best effort', () => {
    golden('htb.txt', formatTcCommands(rendered()));
  });

  it('renders the golden HTB commands with sfq for best effort', () => {
    golden('htb-sfq.txt', formatTcCommands(rendered({ bestEffortQdisc: 'sfq', uplinkKbit: 1_000, downlinkKbit: 8_000, efBudgetPercent: 50 })));
  });

  it('renders the golden cake commands', () => {
    golden('cake.txt', formatTcCommands(rendered({ backend: 'cake' })));
  });

  it('starts each device from no root qdisc, the only command allowed to fail', () => {
    const commands = rendered();
    expect(commands.filter((c) => c.mayFail).map((c) => c.argv.join(' '))).toEqual(['qdisc del dev pppoe-wan root', 'qdisc del dev br-lan root']);
    expect(commands[0]!.argv.join(' ')).toBe('qdisc del dev pppoe-wan root');
  });

  it('produces argv values without blanks, so that a tc -batch line is the same command', () => {
    for (const c of [...rendered(), ...rendered({ backend: 'cake' })]) for (const arg of c.argv) expect(arg).toMatch(/^\S+$/);
  });

  it('splits the link between the classes and never gives a class less than 1 kbit/s', () => {
    const tiny = rendered({ uplinkKbit: 64, efBudgetPercent: 1 });
    expect(option(tiny, ['pppoe-wan', '1:10', 'class'], 'rate')).toBe('1kbit');
    expect(option(tiny, ['pppoe-wan', '1:20', 'class'], 'rate')).toBe('63kbit');
    expect(option(tiny, ['pppoe-wan', '1:10', 'class'], 'ceil')).toBe('64kbit');
    const odd = rendered({ uplinkKbit: 1_001, efBudgetPercent: 33 });
    expect(option(odd, ['pppoe-wan', '1:10', 'class'], 'rate')).toBe('330kbit');
    expect(option(odd, ['pppoe-wan', '1:20', 'class'], 'rate')).toBe('671kbit');
  });

  it.each([
    [64, '1600b', '10', '24224'],
    [20_000, '2500b', '75', '250000'],
    [10_000_000, '1250000b', '128', '4000000'],
  ])('sizes buckets and queues for a %i kbit/s link', (kbit, linkBurst, priorityPackets, bestEffortBytes) => {
    const commands = rendered({ uplinkKbit: kbit });
    expect(option(commands, ['pppoe-wan', '1:1', 'class'], 'burst')).toBe(linkBurst);
    expect(option(commands, ['pppoe-wan', '1:10', 'class'], 'cburst')).toBe(linkBurst);
    expect(option(commands, ['pppoe-wan', 'parent', '1:10', 'pfifo'], 'limit')).toBe(priorityPackets);
    expect(option(commands, ['pppoe-wan', 'parent', '1:20', 'bfifo'], 'limit')).toBe(bestEffortBytes);
  });

  it('classifies the DSCP with the ECN bits masked out, IPv4 and IPv6', () => {
    const filters = rendered()
      .filter((c) => c.argv[0] === 'filter' && c.argv.includes('pppoe-wan'))
      .map((c) => c.argv.slice(c.argv.indexOf('protocol')).join(' '));
    expect(filters).toEqual([
      'protocol ip prio 1 u32 match ip dsfield 0xb8 0xfc flowid 1:10',
      'protocol ip prio 1 u32 match ip dsfield 0x88 0xfc flowid 1:10',
      'protocol ip prio 1 u32 match ip dsfield 0xa0 0xfc flowid 1:10',
      'protocol ipv6 prio 2 u32 match ip6 priority 0xb8 0xfc flowid 1:10',
      'protocol ipv6 prio 2 u32 match ip6 priority 0x88 0xfc flowid 1:10',
      'protocol ipv6 prio 2 u32 match ip6 priority 0xa0 0xfc flowid 1:10',
    ]);
  });

  it.each([
    ['wanDevice', { wanDevice: '' }],
    ['wanDevice', { wanDevice: 'eth0; reboot' }],
    ['wanDevice', { wanDevice: 'a-name-too-long0' }],
    ['wanDevice', { wanDevice: 'eth 0' }],
    ['wanDevice', { wanDevice: '..' }],
    ['lanDevice', { lanDevice: 'br/lan' }],
    ['lanDevice', { lanDevice: 'pppoe-wan' }],
    ['uplinkKbit', { uplinkKbit: 63 }],
    ['uplinkKbit', { uplinkKbit: 10_000_001 }],
    ['uplinkKbit', { uplinkKbit: 1000.5 }],
    ['downlinkKbit', { downlinkKbit: 0 }],
    ['downlinkKbit', { downlinkKbit: Number.NaN }],
    ['efBudgetPercent', { efBudgetPercent: 0 }],
    ['efBudgetPercent', { efBudgetPercent: 100 }],
    ['efBudgetPercent', { efBudgetPercent: 91 }],
    ['backend', { backend: 'none' }],
    ['bestEffortQdisc', { bestEffortQdisc: 'fq_codel' }],
    ['bestEffortQdisc', { bestEffortQdisc: 'pfifo' }],
  ])('refuses %s %j with an error naming the field', (path, change) => {
    const result = renderTc({ ...shaping, ...change } as TcShaping);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('E_CONFIG');
      expect(result.error.path).toBe(path);
      expect(result.error.message.startsWith(`${path}: `)).toBe(true);
    }
  });

  it('accepts the bounds of every range and device names with . : @', () => {
    for (const change of [
      { uplinkKbit: 64, downlinkKbit: 10_000_000, efBudgetPercent: 1 },
      { efBudgetPercent: 90 },
      { wanDevice: 'eth0.2', lanDevice: 'br-lan:1' },
      { wanDevice: 'wan@eth0', lanDevice: 'abcdefghijklmno' },
    ]) {
      expect(renderTc({ ...shaping, ...change }).ok).toBe(true);
    }
  });
});

describe('renderTcTeardown', () => {
  it('renders the golden teardown: each root qdisc deleted, allowed to fail', () => {
    const result = renderTcTeardown(shaping);
    expect(result.ok).toBe(true);
    if (result.ok) golden('teardown.txt', formatTcCommands(result.value));
  });

  it('refuses a bad device name, naming the field', () => {
    const result = renderTcTeardown({ wanDevice: 'wan', lanDevice: '-x y' });
    expect(result.ok ? null : result.error.path).toBe('lanDevice');
  });
});
