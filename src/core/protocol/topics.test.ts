import { describe, expect, it } from 'vitest';
import { allCcFilter, allChFilter, allDevicesFilter, ccTopic, chTopic, deviceTopic, domainRoot, parseTopic } from './topics.ts';

describe('topics', () => {
  it('builds and parses device and call-control topics', () => {
    expect(deviceTopic('owrt-9c3a1f', 'up')).toBe('callqos/v1/dev/owrt-9c3a1f/up');
    expect(parseTopic(deviceTopic('owrt-9c3a1f', 'desired'))).toEqual({ kind: 'dev', id: 'owrt-9c3a1f', channel: 'desired' });
    expect(parseTopic(ccTopic('kamailio-1', 'req'))).toEqual({ kind: 'cc', id: 'kamailio-1', channel: 'req' });
  });

  it('builds and parses clearinghouse topics', () => {
    expect(chTopic('qos-a', 'req')).toBe('callqos/v1/ch/qos-a/req');
    expect(parseTopic(chTopic('qos-a', 'res'))).toEqual({ kind: 'ch', id: 'qos-a', channel: 'res' });
    expect(allChFilter('req', 'clearinghouses')).toBe('$share/clearinghouses/callqos/v1/ch/+/req');
  });

  it('refuses ids that would change the topic structure', () => {
    for (const bad of ['a/b', '+', '#', '', 'x'.repeat(65), '.hidden']) {
      expect(() => deviceTopic(bad, 'up')).toThrow(/topic/);
    }
  });

  it('builds shared-subscription filters', () => {
    expect(allDevicesFilter('up')).toBe('callqos/v1/dev/+/up');
    expect(allDevicesFilter('up', 'qos-servers')).toBe('$share/qos-servers/callqos/v1/dev/+/up');
    expect(allCcFilter('req', 'qos-servers')).toBe('$share/qos-servers/callqos/v1/cc/+/req');
  });

  it('keeps each domain of a shared broker under its own root', () => {
    const a = domainRoot('domain-a');
    expect(deviceTopic('rtA', 'up', a)).toBe('domain-a/callqos/v1/dev/rtA/up');
    expect(allDevicesFilter('up', 'qos-a', a)).toBe('$share/qos-a/domain-a/callqos/v1/dev/+/up');
    expect(allCcFilter('req', undefined, a)).toBe('domain-a/callqos/v1/cc/+/req');
    expect(parseTopic(ccTopic('qos-b', 'req', a), a)).toEqual({ kind: 'cc', id: 'qos-b', channel: 'req' });
    // Another domain's tree, or the plain one, is not this domain's.
    expect(parseTopic(deviceTopic('rtB', 'up', domainRoot('domain-b')), a)).toBeUndefined();
    expect(parseTopic(deviceTopic('rtA', 'up'), a)).toBeUndefined();
    expect(parseTopic(deviceTopic('rtA', 'up', a))).toBeUndefined();
    expect(() => domainRoot('a/b')).toThrow(/topic/);
  });

  it('ignores topics outside the tree', () => {
    for (const t of ['callqos/v2/dev/a/up', 'callqos/v1/dev/a/sideways', 'callqos/v1/dev/a/up/x', 'callqos/v1/dev/a+b/up', 'other']) {
      expect(parseTopic(t)).toBeUndefined();
    }
  });
});
