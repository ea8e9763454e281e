/**
 * topics: the MQTT topic tree (DESIGN.md section 4; docs/protocol.md). Every name is built
 * here, so a device id that is not a safe topic level (no `/`, `+`, `#`) never becomes one.
 *
 *   callqos/v1/dev/<device>/up        device -> server  (open, keepalive, interfaces, reports, ...)
 *   callqos/v1/dev/<device>/down      server -> device  (accept, decisions, sync.complete, command)
 *   callqos/v1/dev/<device>/status    device, retained; the broker publishes the offline will
 *   callqos/v1/dev/<device>/desired   server, retained: version, count and digest of desired gates
 *   callqos/v1/cc/<client>/req        call control -> server (session add/modify/delete)
 *   callqos/v1/cc/<client>/res        server -> call control (answers, QoS-active notices)
 *   callqos/v1/ch/<client>/req        policy server -> clearinghouse (authorization, usage)
 *   callqos/v1/ch/<client>/res        clearinghouse -> policy server (answers)
 *   callqos/v1/enrol/<hwid>/req       a router not enrolled yet -> server (enrol.request)
 *   callqos/v1/enrol/<hwid>/res       server -> that router (enrol.answer; no secret in it)
 *
 * On a broker several policy domains share, each domain's device and call-control topics live
 * under a root of its own, `<domain>/callqos/v1` (`domainRoot`), so that one domain's servers
 * neither see nor take another's routers; routers, call control and servers of the domain are
 * configured with it. The clearinghouse serves every domain and stays on the plain root. (A
 * Mosquitto listener `mount_point` would do this without configuring the clients, but Mosquitto
 * 2.0.11, Debian 12's, leaves the prefix on what it delivers: eclipse-mosquitto issue 2244.)
 */
import { DEVICE_ID } from './fields.ts';

export const TOPIC_ROOT = 'callqos/v1';

export const DEVICE_CHANNELS = ['up', 'down', 'status', 'desired'] as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];

export const CC_CHANNELS = ['req', 'res'] as const;
export type CcChannel = (typeof CC_CHANNELS)[number];
/** The clearinghouse's channels have the same two directions as the session API's. */
export type ChChannel = CcChannel;

function checkId(id: string): string {
  if (!DEVICE_ID.test(id)) throw new TypeError(`not a device or client id usable in a topic: ${JSON.stringify(id)}`);
  return id;
}

/** A policy domain's own tree on a shared broker. */
export function domainRoot(domain: string): string {
  return `${checkId(domain)}/${TOPIC_ROOT}`;
}

/** The tree of a client set to a policy domain; the plain tree for one that is not. */
export function treeRoot(domain: string | undefined): string {
  return domain === undefined ? TOPIC_ROOT : domainRoot(domain);
}

export function deviceTopic(device: string, channel: DeviceChannel, root = TOPIC_ROOT): string {
  return `${root}/dev/${checkId(device)}/${channel}`;
}

export function ccTopic(client: string, channel: CcChannel, root = TOPIC_ROOT): string {
  return `${root}/cc/${checkId(client)}/${channel}`;
}

/** A router's enrolment topics, by its hardware id (a valid topic level, as device ids are). */
export function enrolTopic(hardwareId: string, channel: CcChannel, root = TOPIC_ROOT): string {
  return `${root}/enrol/${checkId(hardwareId)}/${channel}`;
}

/** Every router's enrolment requests (or answers), for a server, optionally shared. */
export function allEnrolFilter(channel: CcChannel, shareGroup?: string, root = TOPIC_ROOT): string {
  const filter = `${root}/enrol/+/${channel}`;
  return shareGroup === undefined ? filter : `$share/${checkId(shareGroup)}/${filter}`;
}

export function chTopic(client: string, channel: ChChannel): string {
  return `${TOPIC_ROOT}/ch/${checkId(client)}/${channel}`;
}

/** Subscription filters for a server: every device's channel, optionally as a shared subscription. */
export function allDevicesFilter(channel: DeviceChannel, shareGroup?: string, root = TOPIC_ROOT): string {
  const filter = `${root}/dev/+/${channel}`;
  return shareGroup === undefined ? filter : `$share/${checkId(shareGroup)}/${filter}`;
}

export function allCcFilter(channel: CcChannel, shareGroup?: string, root = TOPIC_ROOT): string {
  const filter = `${root}/cc/+/${channel}`;
  return shareGroup === undefined ? filter : `$share/${checkId(shareGroup)}/${filter}`;
}

export function allChFilter(channel: ChChannel, shareGroup?: string): string {
  const filter = `${TOPIC_ROOT}/ch/+/${channel}`;
  return shareGroup === undefined ? filter : `$share/${checkId(shareGroup)}/${filter}`;
}

export type ParsedTopic =
  | { readonly kind: 'dev'; readonly id: string; readonly channel: DeviceChannel }
  | { readonly kind: 'cc' | 'ch' | 'enrol'; readonly id: string; readonly channel: CcChannel };

/** A received topic name -> who and which channel; undefined for anything outside the tree under `root`. */
export function parseTopic(topic: string, root = TOPIC_ROOT): ParsedTopic | undefined {
  if (!topic.startsWith(`${root}/`)) return undefined;
  const parts = topic.slice(root.length + 1).split('/');
  if (parts.length !== 3) return undefined;
  const [kind, id, channel] = parts as [string, string, string];
  if (!DEVICE_ID.test(id)) return undefined;
  if (kind === 'dev' && (DEVICE_CHANNELS as readonly string[]).includes(channel)) {
    return { kind, id, channel: channel as DeviceChannel };
  }
  if ((kind === 'cc' || kind === 'ch' || kind === 'enrol') && (CC_CHANNELS as readonly string[]).includes(channel)) return { kind, id, channel: channel as CcChannel };
  return undefined;
}
