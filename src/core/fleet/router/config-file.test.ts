import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../config/agent-config.ts';
import { configHashOf } from '../config-version.ts';
import type { ConfigSection } from '../../protocol/messages/config.ts';
import { renderVersion, sectionsOfFile } from './config-file.ts';

const good: ConfigSection[] = [
  { type: 'agent', name: 'agent', options: { state_dir: '/tmp/st' }, lists: {} },
  { type: 'qos', name: 'qos', options: { uplink_kbit: '20000', downlink_kbit: '100000' }, lists: {} },
  { type: 'gate', name: null, options: { lan_address: '192.168.1.20', lan_port: '5060', rate_kbit: '100' }, lists: {} },
  { type: 'gate', name: 'phone', options: { lan_address: '192.168.1.21', lan_port: '5062', rate_kbit: '90' }, lists: {} },
  { type: 'cloud', name: 'cloud', options: { enabled: '0', broker: 'mqtt.example.net', username: "it's me" }, lists: {} },
];

describe('a version as the config file', () => {
  it('renders a file the agent reads as the same settings, and reads back to the same hash', () => {
    const text = renderVersion(good);
    if (!text.ok) throw new Error(JSON.stringify(text.error));
    expect(text.value.startsWith('package callqos\n')).toBe(true);
    const read = parseAgentConfig(text.value);
    expect(read.ok && read.value.config.qos.uplinkKbit).toBe(20000);
    expect(read.ok && read.value.config.gates.map((g) => g.id)).toEqual(['gate-0', 'phone']);
    expect(read.ok && read.value.config.cloud.username).toBe("it's me");
    expect(configHashOf(sectionsOfFile(text.value)!)).toBe(configHashOf(good));
  });

  it('names each problem by path and renders nothing', () => {
    const bad: ConfigSection[] = good.map((s) =>
      s.type === 'gate' && s.name === 'phone' ? { ...s, options: { ...s.options, rate_kbit: 'fast' } } : s.type === 'qos' ? { ...s, options: { ...s.options, uplink_kbit: '1' } } : s,
    );
    const text = renderVersion(bad);
    expect(text.ok).toBe(false);
    const paths = text.ok ? [] : text.error.map((p) => p.path);
    expect(paths).toEqual(['qos.uplink_kbit', 'gate[1].rate_kbit']);
    expect(text.ok ? '' : text.error[1]!.message).toMatch(/fast/);
  });

  it('refuses an option the router would ignore and a second singleton section', () => {
    const withColour = good.map((s) => (s.type === 'qos' ? { ...s, options: { ...s.options, colour: 'red' } } : s));
    const text = renderVersion([...withColour, { type: 'qos', name: 'qos2', options: { uplink_kbit: '1000', downlink_kbit: '1000' }, lists: {} }]);
    expect(text.ok ? [] : text.error.map((p) => p.path)).toEqual(['qos.colour', 'qos']);
  });

  it('refuses a gate the router would skip (address families differ), by its position', () => {
    const text = renderVersion([...good, { type: 'gate', name: null, options: { lan_address: '192.168.1.22', lan_port: '5064', rate_kbit: '80', remote_address: '2001:db8::1' }, lists: {} }]);
    expect(text.ok ? [] : text.error.map((p) => p.path)).toEqual(['gate[2]']);
  });

  it('reads a file that is not UCI as no sections at all', () => {
    expect(sectionsOfFile("config qos 'unterminated\n")).toBeNull();
  });
});
