import { describe, expect, it } from 'vitest';
import {
  isValidTopicFilter, isValidTopicName, mayPublish, maySubscribe, parseSubscription, topicMatches, type Principal,
} from './acl.ts';

const deviceA: Principal = { kind: 'device', id: 'owrt-a' };
const dotted: Principal = { kind: 'device', id: 'r1.site.example' };
const pbx: Principal = { kind: 'cc', id: 'kamailio-1' };
const server: Principal = { kind: 'server', id: 'qos-1' };

describe('acl: devices', () => {
  it('publishes only its own uplink and status', () => {
    expect(mayPublish(deviceA, 'callqos/v1/dev/owrt-a/up')).toBe(true);
    expect(mayPublish(deviceA, 'callqos/v1/dev/owrt-a/status')).toBe(true);
    for (const topic of [
      'callqos/v1/dev/owrt-a/down', 'callqos/v1/dev/owrt-a/desired', 'callqos/v1/dev/owrt-b/up',
      'callqos/v1/dev/owrt-b/status', 'callqos/v1/cc/owrt-a/req', 'callqos/v1/dev/owrt-a/up/', 'callqos/v1/dev/owrt-a//up',
      '/callqos/v1/dev/owrt-a/up', 'callqos/v1/dev/owrt-a/up/extra', 'callqos/v1/dev/OWRT-A/up', 'callqos/v2/dev/owrt-a/up',
    ]) {
      expect(mayPublish(deviceA, topic), topic).toBe(false);
    }
  });

  it('never publishes to a wildcard or otherwise invalid topic name', () => {
    for (const topic of ['callqos/v1/dev/+/up', 'callqos/v1/dev/owrt-a/#', '#', '', 'callqos/v1/dev/owrt-a/up\u0000']) {
      expect(mayPublish(deviceA, topic), JSON.stringify(topic)).toBe(false);
    }
  });

  it('subscribes only to its own downlink and desired state, without wildcards', () => {
    expect(maySubscribe(deviceA, 'callqos/v1/dev/owrt-a/down')).toBe(true);
    expect(maySubscribe(deviceA, 'callqos/v1/dev/owrt-a/desired')).toBe(true);
    for (const filter of [
      'callqos/v1/dev/+/down', 'callqos/v1/#', '#', '+/v1/dev/owrt-a/down', 'callqos/v1/dev/owrt-a/+',
      'callqos/v1/dev/owrt-a/#', 'callqos/+/dev/owrt-a/down', 'callqos/v1/dev/owrt-b/down', 'callqos/v1/dev/owrt-a/up',
      'callqos/v1/dev/owrt-a/status', 'callqos/v1/dev/owrt-a/down/', 'callqos/v1/dev//down', '$share/g/callqos/v1/dev/owrt-a/down',
      '$SYS/#', 'callqos/v1/dev/owrt-a/down#', 'callqos/v1/dev/owrt-a/down+',
    ]) {
      expect(maySubscribe(deviceA, filter), filter).toBe(false);
    }
  });

  it('treats dots in an id as ordinary characters', () => {
    expect(mayPublish(dotted, 'callqos/v1/dev/r1.site.example/up')).toBe(true);
    expect(maySubscribe(dotted, 'callqos/v1/dev/r1.site.example/down')).toBe(true);
    expect(mayPublish(dotted, 'callqos/v1/dev/r1xsitexexample/up')).toBe(false);
    expect(maySubscribe(dotted, 'callqos/v1/dev/r1.site/down')).toBe(false);
  });
});

describe('acl: call-control clients', () => {
  it('publishes only its own requests and subscribes only its own answers', () => {
    expect(mayPublish(pbx, 'callqos/v1/cc/kamailio-1/req')).toBe(true);
    expect(maySubscribe(pbx, 'callqos/v1/cc/kamailio-1/res')).toBe(true);
    expect(mayPublish(pbx, 'callqos/v1/cc/kamailio-1/res')).toBe(false);
    expect(mayPublish(pbx, 'callqos/v1/cc/kamailio-2/req')).toBe(false);
    expect(maySubscribe(pbx, 'callqos/v1/cc/kamailio-2/res')).toBe(false);
    expect(maySubscribe(pbx, 'callqos/v1/cc/+/res')).toBe(false);
    expect(maySubscribe(pbx, 'callqos/v1/cc/kamailio-1/req')).toBe(false);
    // The same id as a device gives a call-control client nothing on the device's topics.
    expect(mayPublish(pbx, 'callqos/v1/dev/kamailio-1/up')).toBe(false);
    expect(maySubscribe(pbx, 'callqos/v1/dev/kamailio-1/down')).toBe(false);
  });
});

describe('acl: servers', () => {
  it('publishes and subscribes anywhere in callqos/v1, shared subscriptions included', () => {
    expect(mayPublish(server, 'callqos/v1/dev/owrt-a/down')).toBe(true);
    expect(mayPublish(server, 'callqos/v1/cc/kamailio-1/res')).toBe(true);
    expect(maySubscribe(server, 'callqos/v1/dev/+/up')).toBe(true);
    expect(maySubscribe(server, 'callqos/v1/#')).toBe(true);
    expect(maySubscribe(server, '$share/qos-servers/callqos/v1/dev/+/up')).toBe(true);
    expect(maySubscribe(server, '$share/qos-servers/callqos/v1/#')).toBe(true);
  });

  it('stays inside callqos/v1', () => {
    for (const filter of ['#', '+/v1/#', 'callqos/+/dev/+/up', 'callqos/#', '$SYS/#', '$share/g/#', 'other/topic', 'callqos']) {
      expect(maySubscribe(server, filter), filter).toBe(false);
    }
    for (const topic of ['callqos/v2/x', 'other', '$SYS/broker/load', 'callqos']) {
      expect(mayPublish(server, topic), topic).toBe(false);
    }
  });

  it('refuses malformed shared subscriptions', () => {
    for (const filter of ['$share/', '$share//callqos/v1/#', '$share/g', '$share/g+/callqos/v1/#', '$share/#/callqos/v1/#', '$share/g/callqos/v1/#/x']) {
      expect(maySubscribe(server, filter), filter).toBe(false);
    }
  });
});

describe('acl: policy domains on a shared broker', () => {
  const routerA: Principal = { kind: 'device', id: 'rtA', domain: 'domain-a' };
  const proxyA: Principal = { kind: 'cc', id: 'sip-a', domain: 'domain-a' };
  const serverA: Principal = { kind: 'server', id: 'qos-a', domain: 'domain-a' };

  it('keeps devices and call control to their own topics in their domain\'s tree', () => {
    expect(mayPublish(routerA, 'domain-a/callqos/v1/dev/rtA/up')).toBe(true);
    expect(maySubscribe(routerA, 'domain-a/callqos/v1/dev/rtA/down')).toBe(true);
    expect(mayPublish(proxyA, 'domain-a/callqos/v1/cc/sip-a/req')).toBe(true);
    expect(maySubscribe(proxyA, 'domain-a/callqos/v1/cc/sip-a/res')).toBe(true);
    for (const topic of ['callqos/v1/dev/rtA/up', 'domain-b/callqos/v1/dev/rtA/up', 'domain-a/callqos/v1/dev/rtB/up']) expect(mayPublish(routerA, topic), topic).toBe(false);
    expect(maySubscribe(routerA, 'callqos/v1/dev/rtA/down')).toBe(false);
    expect(mayPublish(proxyA, 'domain-b/callqos/v1/cc/sip-a/req')).toBe(false);
  });

  it('gives a domain\'s server its own tree, its clearinghouse topics and its requests to peers, and nothing of other domains', () => {
    expect(maySubscribe(serverA, '$share/qos/domain-a/callqos/v1/dev/+/up')).toBe(true);
    expect(mayPublish(serverA, 'domain-a/callqos/v1/dev/rtA/down')).toBe(true);
    expect(mayPublish(serverA, 'callqos/v1/ch/qos-a/req')).toBe(true);
    expect(maySubscribe(serverA, 'callqos/v1/ch/qos-a/res')).toBe(true);
    expect(mayPublish(serverA, 'domain-b/callqos/v1/cc/qos-a/req')).toBe(true);
    expect(maySubscribe(serverA, 'domain-b/callqos/v1/cc/qos-a/res')).toBe(true);
    for (const topic of ['domain-b/callqos/v1/dev/rtB/down', 'domain-b/callqos/v1/cc/qos-b/res', 'callqos/v1/ch/qos-b/req', 'callqos/v1/dev/rtA/down', 'domain-b/callqos/v1/cc/qos-a/res']) {
      expect(mayPublish(serverA, topic), topic).toBe(false);
    }
    for (const filter of ['domain-b/callqos/v1/#', '+/callqos/v1/dev/+/up', '+/callqos/v1/cc/qos-a/res', 'callqos/v1/#', 'callqos/v1/ch/+/res', 'domain-b/callqos/v1/cc/qos-a/req', '$share/g/domain-b/callqos/v1/cc/qos-a/res']) {
      expect(maySubscribe(serverA, filter), filter).toBe(false);
    }
  });

  it('refuses a principal whose domain is not one safe topic level', () => {
    expect(mayPublish({ kind: 'device', id: 'rtA', domain: 'a/b' }, 'a/b/callqos/v1/dev/rtA/up')).toBe(false);
  });
});

describe('acl: the clearinghouse', () => {
  const ch: Principal = { kind: 'clearinghouse', id: 'ch-1' };

  it('subscribes to every policy server\'s requests, shared or not, and publishes only answers', () => {
    for (const filter of ['callqos/v1/ch/+/req', '$share/ch/callqos/v1/ch/+/req', 'callqos/v1/ch/qos-1/req']) expect(maySubscribe(ch, filter), filter).toBe(true);
    for (const topic of ['callqos/v1/ch/qos-1/res', 'callqos/v1/ch/qos.b-2/res']) expect(mayPublish(ch, topic), topic).toBe(true);
  });

  it('reaches nothing else: not the answers, not devices, call control or other domains', () => {
    for (const filter of ['callqos/v1/ch/+/res', 'callqos/v1/ch/#', 'callqos/v1/#', 'callqos/v1/+/+/req', 'callqos/v1/cc/+/req', 'callqos/v1/dev/ch-1/down', 'domain-a/callqos/v1/ch/+/req', 'callqos/v1/ch/+/req/x']) {
      expect(maySubscribe(ch, filter), filter).toBe(false);
    }
    for (const topic of ['callqos/v1/ch/qos-1/req', 'callqos/v1/dev/ch-1/up', 'callqos/v1/cc/pbx-1/res', 'domain-a/callqos/v1/ch/qos-1/res', 'callqos/v1/ch/a/b/res']) {
      expect(mayPublish(ch, topic), topic).toBe(false);
    }
  });

  it('has no domain: a clearinghouse principal with one gets nothing', () => {
    expect(maySubscribe({ kind: 'clearinghouse', id: 'ch-1', domain: 'domain-a' }, 'callqos/v1/ch/+/req')).toBe(false);
  });
});

describe('acl: the enrolment login', () => {
  const enrol: Principal = { kind: 'enrol', id: 'callqos-enrol' };

  it('asks for any hardware id and reads one answer topic at a time', () => {
    for (const topic of ['callqos/v1/enrol/mac-0242ac110002/req', 'callqos/v1/enrol/serial-X1.2/req']) expect(mayPublish(enrol, topic), topic).toBe(true);
    expect(maySubscribe(enrol, 'callqos/v1/enrol/mac-0242ac110002/res')).toBe(true);
  });

  it('reads no request (they carry the chosen password), no wildcard, nothing of devices, servers or call control', () => {
    for (const filter of ['callqos/v1/enrol/mac-0242ac110002/req', 'callqos/v1/enrol/+/req', 'callqos/v1/enrol/+/res', 'callqos/v1/enrol/#', '$share/g/callqos/v1/enrol/a/res',
      'callqos/v1/dev/mac-0242ac110002/down', 'callqos/v1/cc/x/res', 'callqos/v1/#']) {
      expect(maySubscribe(enrol, filter), filter).toBe(false);
    }
    for (const topic of ['callqos/v1/enrol/mac-0242ac110002/res', 'callqos/v1/enrol/-bad/req', 'callqos/v1/enrol/a/b/req', 'callqos/v1/dev/mac-0242ac110002/up', 'callqos/v1/cc/x/req', 'callqos/v1/ch/x/req']) {
      expect(mayPublish(enrol, topic), topic).toBe(false);
    }
  });

  it('stays in its policy domain\'s tree on a shared broker', () => {
    const scoped: Principal = { kind: 'enrol', id: 'callqos-enrol', domain: 'domain-a' };
    expect(mayPublish(scoped, 'domain-a/callqos/v1/enrol/mac-1/req')).toBe(true);
    expect(mayPublish(scoped, 'callqos/v1/enrol/mac-1/req')).toBe(false);
    expect(mayPublish(scoped, 'domain-b/callqos/v1/enrol/mac-1/req')).toBe(false);
  });
});

describe('acl: principals', () => {
  it('grants nothing to a principal whose id is not one safe topic level', () => {
    for (const id of ['', 'a/b', '+', '#', '.x', 'x'.repeat(65)]) {
      const p: Principal = { kind: 'device', id };
      expect(mayPublish(p, `callqos/v1/dev/${id}/up`), id).toBe(false);
      expect(maySubscribe(p, `callqos/v1/dev/${id}/down`), id).toBe(false);
    }
    const unknownKind = { kind: 'admin', id: 'root' } as unknown as Principal;
    expect(mayPublish(unknownKind, 'callqos/v1/dev/root/up')).toBe(false);
  });
});

describe('acl: topic syntax', () => {
  it('matches filters like an MQTT broker', () => {
    expect(topicMatches('callqos/v1/dev/+/up', 'callqos/v1/dev/a/up')).toBe(true);
    expect(topicMatches('callqos/v1/dev/+/up', 'callqos/v1/dev//up')).toBe(true);
    expect(topicMatches('callqos/v1/dev/+/up', 'callqos/v1/dev/a/b/up')).toBe(false);
    expect(topicMatches('callqos/v1/#', 'callqos/v1')).toBe(true);
    expect(topicMatches('callqos/v1/#', 'callqos/v1/dev/a/up')).toBe(true);
    expect(topicMatches('callqos/v1/+', 'callqos/v1')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('+/x', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
    expect(topicMatches('a/b', 'a/b/')).toBe(false);
  });

  it('validates names and filters', () => {
    expect(isValidTopicName('a/b')).toBe(true);
    expect(isValidTopicName('a/+')).toBe(false);
    expect(isValidTopicName('a/\ud800')).toBe(false);
    expect(isValidTopicFilter('a/+/#')).toBe(true);
    expect(isValidTopicFilter('a/#/b')).toBe(false);
    expect(isValidTopicFilter('a/b+')).toBe(false);
    expect(isValidTopicFilter('')).toBe(false);
    expect(parseSubscription('$share/g/a/+')).toEqual({ shareGroup: 'g', filter: 'a/+' });
    expect(parseSubscription('a/+')).toEqual({ filter: 'a/+' });
    expect(parseSubscription('$share/g/')).toBeUndefined();
  });
});
