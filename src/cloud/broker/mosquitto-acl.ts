/**
 * mosquitto-acl: the rules of src/core/protocol/acl.ts in Mosquitto's acl_file syntax.
 *
 * Devices are covered by `pattern` lines with `%u` (the username, which is the device id), so a
 * new device needs no ACL change. Mosquitto applies pattern lines to every login, so each
 * call-control client and server also gets a `user` block, and the call-control blocks deny the
 * device tree: otherwise a call-control login could act as a device named like itself.
 * A login of a policy domain (on a broker several domains share) gets a `user` block in its
 * domain's tree instead, devices included: pattern lines cannot name a domain. The plain-tree
 * patterns still apply to it, but nothing of any domain is in the plain tree.
 * deploy/mosquitto/callqos.acl is this file rendered for one server login (`callqos-server`);
 * regenerate it whenever a call-control client or server login is added (the CLI does), then send
 * Mosquitto SIGHUP.
 */
import { TOPIC_ROOT, treeRoot } from '../../core/protocol/topics.ts';
import type { CredentialEntry } from './credentials.ts';

export const DEVICE_PATTERNS = [
  'pattern write callqos/v1/dev/%u/up',
  'pattern write callqos/v1/dev/%u/status',
  'pattern read callqos/v1/dev/%u/down',
  'pattern read callqos/v1/dev/%u/desired',
] as const;

type Login = Pick<CredentialEntry, 'user' | 'kind' | 'domain'>;

function userBlock(login: Login): string[] {
  const root = treeRoot(login.domain);
  const user = login.user;
  if (login.kind === 'server') {
    const lines = [`user ${user}`, `topic readwrite ${root}/#`];
    // A domain's server also reaches the clearinghouse and, as a call-control client, its peers.
    if (login.domain !== undefined) {
      lines.push(`topic write ${TOPIC_ROOT}/ch/${user}/req`, `topic read ${TOPIC_ROOT}/ch/${user}/res`, `topic write +/${TOPIC_ROOT}/cc/${user}/req`, `topic read +/${TOPIC_ROOT}/cc/${user}/res`);
    }
    return lines;
  }
  // Its own block denies the device tree, as for call control: the device patterns apply to every login.
  if (login.kind === 'clearinghouse') return [`user ${user}`, `topic deny ${TOPIC_ROOT}/dev/#`, `topic read ${TOPIC_ROOT}/ch/+/req`, `topic write ${TOPIC_ROOT}/ch/+/res`];
  if (login.kind === 'cc') return [`user ${user}`, `topic deny ${TOPIC_ROOT}/dev/#`, `topic write ${root}/cc/${user}/req`, `topic read ${root}/cc/${user}/res`];
  if (login.domain === undefined) return [];
  return [`user ${user}`, `topic write ${root}/dev/${user}/up`, `topic write ${root}/dev/${user}/status`, `topic read ${root}/dev/${user}/down`, `topic read ${root}/dev/${user}/desired`];
}

/** The whole acl_file for these logins: device patterns, then one block per server, call-control client, clearinghouse and domain device. */
export function renderMosquittoAcl(logins: Iterable<Login>): string {
  const sorted = [...logins].filter((l) => l.kind !== 'device' || l.domain !== undefined).sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  const lines = [
    '# callqos topic ACL for Mosquitto 2 (acl_file). Generated from the credentials file by',
    '# src/cloud/broker/mosquitto-acl.ts; the rules are those of src/core/protocol/acl.ts.',
    '# A username is a device, call-control client, server or clearinghouse id.',
    '',
    '# Devices: publish their own uplink and status (the will too), read their own downlink and desired state.',
    ...DEVICE_PATTERNS,
  ];
  for (const login of sorted) lines.push('', ...userBlock(login));
  return `${lines.join('\n')}\n`;
}
