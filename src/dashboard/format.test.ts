import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatCount, formatDuration, formatEndpoint, formatKbps, formatTime } from './format.ts';

describe('dashboard formatting', () => {
  it('writes byte counts with binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MiB');
    expect(formatBytes(-1)).toBe('–');
  });

  it('groups counts by thousands whatever the locale', () => {
    expect(formatCount(7)).toBe('7');
    expect(formatCount(12345)).toBe('12,345');
    expect(formatCount(1234567.4)).toBe('1,234,567');
  });

  it('writes rates in kbit/s, Mbit/s and Gbit/s', () => {
    expect(formatKbps(64)).toBe('64 kbit/s');
    expect(formatKbps(1500)).toBe('1.5 Mbit/s');
    expect(formatKbps(2_500_000)).toBe('2.5 Gbit/s');
  });

  it('writes spans in the two largest units', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_000)).toBe('12 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(2 * 3600_000 + 10 * 60_000)).toBe('2 h 10 min');
    expect(formatDuration(4 * 86400_000 + 3 * 3600_000)).toBe('4 d 3 h');
  });

  it('says how long ago, or that it never happened', () => {
    expect(formatAgo(null, 10_000)).toBe('never');
    expect(formatAgo(9_500, 10_000)).toBe('just now');
    expect(formatAgo(5_000, 10_000)).toBe('5 s ago');
    expect(formatAgo(70_000, 10_000)).toBe('in 1 min');
  });

  it('writes a local time with seconds, and a dash for none', () => {
    expect(formatTime(null)).toBe('–');
    const ms = new Date(2026, 0, 2, 3, 4, 5).getTime();
    expect(formatTime(ms)).toBe('2026-01-02 03:04:05');
  });

  it('writes endpoints with IPv6 in brackets and wildcards as *', () => {
    expect(formatEndpoint('192.0.2.1', 4000)).toBe('192.0.2.1:4000');
    expect(formatEndpoint('2001:db8::1', 5004)).toBe('[2001:db8::1]:5004');
    expect(formatEndpoint(null, null)).toBe('*:*');
  });
});
