/**
 * mosquitto-acl: the rules of src/core/protocol/acl.ts in Mosquitto's acl_file syntax.
 *
 * Devices are covered by `pattern` lines with `%u` (the username, which is the device id), so a
 * new device needs no ACL change. Mosquitto applies pattern lines to every login, so each
 * call-control client and server also gets a `user` block, and the call-control blocks deny the
 * device tree: otherwise a call-control login could act as a device named like itself.
 * deploy/mosquitto/callqos.acl is this file rendered for one server login (`callqos-server`);
 * regenerate it whenever a call-control client or server login is added (the CLI does), then send
 * Mosquitto SIGHUP.
 */
import type { CredentialEntry } from './credentials.ts';

export const DEVICE_PATTERNS = [
  'pattern write callqos/v1/dev/%u/up',
  'pattern write callqos/v1/dev/%u/status',
  'pattern read callqos/v1/dev/%u/down',
  'pattern read callqos/v1/dev/%u/desired',
] as const;

type Login = Pick<CredentialEntry, 'user' | 'kind'>;

function userBlock(login: Login): string[] {
  if (login.kind === 'server') return [`user ${login.user}`, 'topic readwrite callqos/v1/#'];
  if (login.kind === 'cc') {
    return [
      `user ${login.user}`,
      'topic deny callqos/v1/dev/#',
      `topic write callqos/v1/cc/${login.user}/req`,
      `topic read callqos/v1/cc/${login.user}/res`,
    ];
  }
  return [];
}

/** The whole acl_file for these logins: device patterns, then one block per server and call-control client. */
export function renderMosquittoAcl(logins: Iterable<Login>): string {
  const sorted = [...logins].filter((l) => l.kind !== 'device').sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  const lines = [
    '# callqos topic ACL for Mosquitto 2 (acl_file). Generated from the credentials file by',
    '# src/cloud/broker/mosquitto-acl.ts; the rules are those of src/core/protocol/acl.ts.',
    '# A username is a device, call-control client or server id.',
    '',
    '# Devices: publish their own uplink and status (the will too), read their own downlink and desired state.',
    ...DEVICE_PATTERNS,
  ];
  for (const login of sorted) lines.push('', ...userBlock(login));
  return `${lines.join('\n')}\n`;
}
