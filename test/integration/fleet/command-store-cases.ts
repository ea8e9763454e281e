/**
 * The contract cases of the fleet store's command table (commands-sql.ts), run inside the fleet
 * store contract for each backend.
 */
import { expect, it } from 'vitest';
import type { FleetStore } from '../../../src/cloud/fleet/store/types.ts';
import type { CommandRecord } from '../../../src/cloud/fleet/store/commands-sql.ts';

const T0 = 1_800_000_000_000;

const command = (id: string, deviceId: string, at: number, over: Partial<CommandRecord> = {}): CommandRecord => ({
  id, deviceId, name: 'status', args: {}, state: 'queued', createdBy: 'operator:alice', createdAtMs: T0 + at, deadlineMs: T0 + at + 60_000,
  sentAtMs: null, finishedAtMs: null, messageId: null, error: null, data: null, ...over,
});

export function commandStoreCases(fresh: () => Promise<{ fleet: FleetStore }>): void {
  it('commands: round-trip every field, E_CONFLICT on a duplicate id, listed per device newest first', async () => {
    const { fleet } = await fresh();
    const full = command('c1', 'rt-1', 0, {
      name: 'test-gate', args: { lanAddress: '192.168.1.20', lanPort: '4000', note: 'ü "quoted"' }, state: 'succeeded', sentAtMs: T0 + 1, finishedAtMs: T0 + 2,
      messageId: 'srv:1:7', error: null, data: { nested: [1, 'two', null, { ok: true }] },
    });
    await fleet.commands.createCommand(full);
    await fleet.commands.createCommand(command('c2', 'rt-1', 5));
    await fleet.commands.createCommand(command('c3', 'rt-2', 3, { state: 'failed', error: { code: 'E_ARG', message: 'argument part: bad' } }));
    await expect(fleet.commands.createCommand(command('c1', 'rt-3', 9))).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(await fleet.commands.getCommand('c1')).toEqual(full);
    expect(await fleet.commands.getCommand('nope')).toBeNull();
    expect((await fleet.commands.getCommand('c3'))!.error).toEqual({ code: 'E_ARG', message: 'argument part: bad' });
    expect(await fleet.commands.getCommandByMessage('srv:1:7')).toEqual(full);
    expect(await fleet.commands.getCommandByMessage('srv:1:8')).toBeNull();
    expect((await fleet.commands.listDeviceCommands('rt-1', 10)).map((c) => c.id)).toEqual(['c2', 'c1']);
    expect((await fleet.commands.listDeviceCommands('rt-1', 1)).map((c) => c.id)).toEqual(['c2']);
  });

  it('commands: listed by state (oldest first, of one device), changed by compare-and-set', async () => {
    const { fleet } = await fresh();
    // A backend may keep the table between cases: only this case's commands count.
    const mine = (list: CommandRecord[]) => list.filter((c) => ['a', 'b', 'c'].includes(c.id));
    await fleet.commands.createCommand(command('a', 'rt-s1', 2));
    await fleet.commands.createCommand(command('b', 'rt-s2', 1));
    await fleet.commands.createCommand(command('c', 'rt-s1', 3, { state: 'sent', messageId: 'm-c' }));
    expect(mine(await fleet.commands.listCommandsIn(['queued'])).map((c) => c.id)).toEqual(['b', 'a']);
    expect((await fleet.commands.listCommandsIn(['queued', 'sent'], 'rt-s1')).map((c) => c.id)).toEqual(['a', 'c']);
    expect(await fleet.commands.listCommandsIn([])).toEqual([]);
    // Due by deadline (a at T0+2+60s, b at T0+1+60s, c at T0+3+60s): oldest deadline first.
    expect(mine(await fleet.commands.listCommandsDue(['queued', 'sent'], T0 + 60_002)).map((c) => c.id)).toEqual(['b', 'a']);
    expect(mine(await fleet.commands.listCommandsDue(['sent'], T0 + 60_002)).map((c) => c.id)).toEqual([]);
    expect(await fleet.commands.listCommandsDue([], T0 + 90_000)).toEqual([]);
    const sent = await fleet.commands.updateCommand('a', { state: 'sent', ifStateIn: ['queued'], sentAtMs: T0 + 10, messageId: 'm-a' });
    expect(sent).toMatchObject({ id: 'a', state: 'sent', sentAtMs: T0 + 10, messageId: 'm-a', finishedAtMs: null });
    // Another instance got there first: nothing changes.
    expect(await fleet.commands.updateCommand('a', { state: 'sent', ifStateIn: ['queued'], messageId: 'm-x' })).toBeNull();
    expect(await fleet.commands.updateCommand('zz', { state: 'failed', ifStateIn: ['queued'] })).toBeNull();
    const done = await fleet.commands.updateCommand('a', { state: 'succeeded', ifStateIn: ['sent', 'acknowledged'], finishedAtMs: T0 + 20, data: { gates: [] } });
    expect(done).toEqual({ ...sent, state: 'succeeded', finishedAtMs: T0 + 20, data: { gates: [] } });
    expect(await fleet.commands.getCommand('a')).toEqual(done);
    // A message id names one command only.
    await expect(fleet.commands.updateCommand('b', { state: 'sent', ifStateIn: ['queued'], messageId: 'm-a' })).rejects.toThrow();
  });
}
