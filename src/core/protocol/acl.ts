/**
 * acl: who may publish and subscribe where in the callqos topic tree (DESIGN.md section 4,
 * docs/protocol.md "Access control"). The embedded broker asks these functions directly; the
 * Mosquitto ACL file in deploy/mosquitto/ states the same rules in Mosquitto's syntax, and the
 * broker integration tests hold both to the same cases.
 *
 *   device <id>  publish:   callqos/v1/dev/<id>/up, callqos/v1/dev/<id>/status (also its will)
 *                subscribe: callqos/v1/dev/<id>/down, callqos/v1/dev/<id>/desired
 *   cc <id>      publish:   callqos/v1/cc/<id>/req
 *                subscribe: callqos/v1/cc/<id>/res
 *   server <id>  publish and subscribe anything in callqos/v1 (shared subscriptions included)
 *   enrol <id>   publish:   callqos/v1/enrol/<any hardware id>/req (a router asking to join)
 *                subscribe: callqos/v1/enrol/<one hardware id>/res (the answers carry no secret)
 *                The shared login of routers that have no login of their own yet; the key is
 *                checked by the server, not the broker (src/core/protocol/messages/enrol.ts).
 *   clearinghouse <id>
 *                publish:   callqos/v1/ch/<any client>/res (its answers)
 *                subscribe: callqos/v1/ch/+/req, shared or not (every policy server's requests)
 *                It serves every domain from the plain tree, so it has no domain of its own.
 *
 * A principal of a policy domain on a broker several domains share has the same rules in its
 * domain's tree, `<domain>/callqos/v1`, and nothing in the others'. A domain's server may also
 * talk to the clearinghouse on its own `callqos/v1/ch/<id>/…` topics and ask other domains'
 * servers as a call-control client: `<any domain>/callqos/v1/cc/<id>/req`, answers on `…/res`.
 *
 * A subscription is allowed only when every topic its filter can match is allowed, so a device's
 * filter may hold no wildcard at all (`callqos/v1/dev/+/down` also matches other devices).
 * The broker, not this module, decides the principal: it comes from the authenticated username,
 * never from anything the client says about itself.
 */
import { DEVICE_ID } from './fields.ts';
import { ccTopic, chTopic, deviceTopic, domainRoot, TOPIC_ROOT, treeRoot } from './topics.ts';
import { HARDWARE_ID } from './messages/enrol.ts';

/**
 * The shared enrolment login of routers that have no login of their own yet. Public on purpose:
 * its ACL (the `enrol` rules above) is its only power, and the server checks the enrolment key
 * the request carries. The agent connects with it; the cloud creates it on the broker.
 */
export const ENROL_USERNAME = 'callqos-enrol';
export const ENROL_PASSWORD = 'callqos-enrol';

export type PrincipalKind = 'device' | 'cc' | 'server' | 'clearinghouse' | 'enrol';
export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['device', 'cc', 'server', 'clearinghouse', 'enrol'];

export interface Principal {
  readonly kind: PrincipalKind;
  readonly id: string;
  /** Its policy domain on a broker several domains share; none: the plain tree. */
  readonly domain?: string;
}

/** Longest topic name or filter MQTT allows, in UTF-8 bytes; the check below counts UTF-16 units, which is stricter. */
const MAX_TOPIC_LENGTH = 65535;
const SHARE_PREFIX = '$share/';

export function isPrincipalKind(value: unknown): value is PrincipalKind {
  return typeof value === 'string' && (PRINCIPAL_KINDS as readonly string[]).includes(value);
}

/** A principal is usable only with an id that is one safe topic level. */
export function isValidPrincipal(p: Principal): boolean {
  return isPrincipalKind(p.kind) && typeof p.id === 'string' && DEVICE_ID.test(p.id) &&
    (p.domain === undefined || (p.kind !== 'clearinghouse' && typeof p.domain === 'string' && DEVICE_ID.test(p.domain)));
}


function hasBadCharacters(text: string): boolean {
  // U+0000 is forbidden in MQTT strings; a lone surrogate is not valid UTF-8 on the wire.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return true;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/** A topic name a client may publish to: non-empty, no wildcard characters, no NUL. */
export function isValidTopicName(topic: string): boolean {
  return typeof topic === 'string' && topic.length > 0 && topic.length <= MAX_TOPIC_LENGTH &&
    !hasBadCharacters(topic) && topic.indexOf('+') === -1 && topic.indexOf('#') === -1;
}

/** A filter with wildcards only where MQTT allows them: `+` as a whole level, `#` as the whole last level. */
export function isValidTopicFilter(filter: string): boolean {
  if (typeof filter !== 'string' || filter.length === 0 || filter.length > MAX_TOPIC_LENGTH || hasBadCharacters(filter)) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '#') {
      if (i !== levels.length - 1) return false;
    } else if (level !== '+' && (level.indexOf('+') !== -1 || level.indexOf('#') !== -1)) {
      return false;
    }
  }
  return true;
}

export interface SubscriptionFilter {
  /** The share group of a `$share/<group>/<filter>` subscription, undefined for a plain one. */
  readonly shareGroup?: string;
  /** The filter that topics are matched against. */
  readonly filter: string;
}

/**
 * Splits `$share/<group>/<filter>` (MQTT 5, section 4.8.2); undefined when the text is not a
 * valid subscription. The group is one non-empty level without wildcards.
 */
export function parseSubscription(text: string): SubscriptionFilter | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.startsWith(SHARE_PREFIX)) {
    const rest = text.slice(SHARE_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return undefined;
    const group = rest.slice(0, slash);
    const filter = rest.slice(slash + 1);
    if (group.indexOf('+') !== -1 || group.indexOf('#') !== -1 || hasBadCharacters(group)) return undefined;
    return isValidTopicFilter(filter) ? { shareGroup: group, filter } : undefined;
  }
  return isValidTopicFilter(text) ? { filter: text } : undefined;
}

/**
 * Whether `filter` matches the topic name `topic` (MQTT 3.1.1 section 4.7). `#` also matches the
 * parent level (`a/#` matches `a`), and wildcards at the first level never match a `$` topic.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True when every topic `filter` can match lies inside `root` (the filter's first levels are literal). */
function staysInTree(filter: string, root: string): boolean {
  const levels = filter.split('/');
  const rootLevels = root.split('/');
  if (levels.length < rootLevels.length) return false;
  return rootLevels.every((level, i) => levels[i] === level);
}

/** A domain server's topics outside its own tree: the clearinghouse's and its peers' session API. */
function domainServerTopic(p: Principal, topic: string, channel: 'req' | 'res'): boolean {
  if (p.domain === undefined) return false;
  if (topic === chTopic(p.id, channel)) return true;
  const slash = topic.indexOf('/');
  const domain = topic.slice(0, slash);
  return slash > 0 && DEVICE_ID.test(domain) && topic === ccTopic(p.id, channel, domainRoot(domain));
}

function ownPublishTopics(p: Principal): readonly string[] {
  const root = treeRoot(p.domain);
  if (p.kind === 'device') return [deviceTopic(p.id, 'up', root), deviceTopic(p.id, 'status', root)];
  if (p.kind === 'cc') return [ccTopic(p.id, 'req', root)];
  return [];
}

function ownSubscribeTopics(p: Principal): readonly string[] {
  const root = treeRoot(p.domain);
  if (p.kind === 'device') return [deviceTopic(p.id, 'down', root), deviceTopic(p.id, 'desired', root)];
  if (p.kind === 'cc') return [ccTopic(p.id, 'res', root)];
  return [];
}

/**
 * A clearinghouse topic, `callqos/v1/ch/<client>/<channel>`, where the client level is one valid
 * id or, in a filter, `+`.
 */
function isClearinghouseTopic(topic: string, channel: 'req' | 'res', wildcardClient: boolean): boolean {
  const levels = topic.split('/');
  const prefix = `${TOPIC_ROOT}/ch`.split('/');
  if (levels.length !== prefix.length + 2 || !prefix.every((level, i) => levels[i] === level)) return false;
  const client = levels[prefix.length]!;
  return levels[prefix.length + 1] === channel && ((wildcardClient && client === '+') || DEVICE_ID.test(client));
}

/** `<root>/enrol/<hardware id>/<channel>` with one valid hardware id (no wildcard). */
function isEnrolTopic(topic: string, root: string, channel: 'req' | 'res'): boolean {
  const prefix = `${root}/enrol/`;
  if (!topic.startsWith(prefix)) return false;
  const rest = topic.slice(prefix.length).split('/');
  return rest.length === 2 && HARDWARE_ID.test(rest[0]!) && rest[1] === channel;
}

/** May `principal` publish to `topic` (also asked for a connecting client's will topic)? */
export function mayPublish(principal: Principal, topic: string): boolean {
  if (!isValidPrincipal(principal) || !isValidTopicName(topic)) return false;
  if (principal.kind === 'clearinghouse') return isClearinghouseTopic(topic, 'res', false);
  if (principal.kind === 'enrol') return isEnrolTopic(topic, treeRoot(principal.domain), 'req');
  if (principal.kind === 'server') return staysInTree(topic, treeRoot(principal.domain)) || domainServerTopic(principal, topic, 'req');
  return ownPublishTopics(principal).includes(topic);
}

/**
 * May `principal` subscribe with `subscription` (a filter, or `$share/<group>/<filter>`)?
 * Devices and call-control clients get exact topics only: a wildcard would reach beyond their
 * own topics, and a shared subscription is for servers.
 */
export function maySubscribe(principal: Principal, subscription: string): boolean {
  if (!isValidPrincipal(principal)) return false;
  const parsed = parseSubscription(subscription);
  if (parsed === undefined) return false;
  if (principal.kind === 'server' && staysInTree(parsed.filter, treeRoot(principal.domain))) return true;
  // Shared or not: several clearinghouse instances may split the requests between them.
  if (principal.kind === 'clearinghouse') return isClearinghouseTopic(parsed.filter, 'req', true);
  if (parsed.shareGroup !== undefined) return false;
  if (parsed.filter.indexOf('+') !== -1 || parsed.filter.indexOf('#') !== -1) return false;
  if (principal.kind === 'server') return domainServerTopic(principal, parsed.filter, 'res');
  if (principal.kind === 'enrol') return isEnrolTopic(parsed.filter, treeRoot(principal.domain), 'res');
  return ownSubscribeTopics(principal).includes(parsed.filter);
}
