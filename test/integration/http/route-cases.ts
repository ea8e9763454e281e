/** A valid request for each role-checked route of the fleet API, and another domain's resource for each scoped one (seeded by fleet-rig.ts). */
import type { RouteName } from '../../../src/core/fleet/api.ts';

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

/** A valid request of each role-checked route, and what it should return when allowed. */
export const VALID: Partial<Record<RouteName, Request>> = {
  me: { method: 'GET', path: '/api/v1/auth/me' },
  overview: { method: 'GET', path: '/api/v1/overview' },
  listDevices: { method: 'GET', path: '/api/v1/devices?limit=10&sort=name&order=desc&status=accepted' },
  getDevice: { method: 'GET', path: '/api/v1/devices/rt-a1' },
  patchDevice: { method: 'PATCH', path: '/api/v1/devices/rt-a1', body: { tags: ['lab'], site: 'Berlin' } },
  approveDevice: { method: 'POST', path: '/api/v1/devices/rt-a-pend/approve' },
  rejectDevice: { method: 'POST', path: '/api/v1/devices/rt-a-rej/reject', body: { reason: 'unknown router' } },
  revokeDevice: { method: 'POST', path: '/api/v1/devices/rt-a-rev/revoke', body: { reason: 'stolen' } },
  listGroups: { method: 'GET', path: '/api/v1/groups' },
  createGroup: { method: 'POST', path: '/api/v1/groups', body: { id: 'g-new', name: 'New', domain: null, enrolPolicy: 'auto', reenrolPolicy: 'replace' } },
  listKeys: { method: 'GET', path: '/api/v1/enrolment-keys' },
  createKey: { method: 'POST', path: '/api/v1/enrolment-keys', body: { group: 'g-a', label: 'batch 7', expiresAtMs: null } },
  revokeKey: { method: 'POST', path: '/api/v1/enrolment-keys/keyaaaa1/revoke' },
  listOperators: { method: 'GET', path: '/api/v1/operators' },
  createOperator: { method: 'POST', path: '/api/v1/operators', body: { username: 'newop', role: 'viewer', domain: null } },
  patchOperator: { method: 'PATCH', path: '/api/v1/operators/op-spare', body: { role: 'operator' } },
  listSessions: { method: 'GET', path: '/api/v1/sessions?limit=10' },
  listUsage: { method: 'GET', path: '/api/v1/usage?callId=call-ab' },
  listAudit: { method: 'GET', path: '/api/v1/audit?limit=5' },
  listCalls: { method: 'GET', path: '/api/v1/calls?state=live&limit=10' },
  getCall: { method: 'GET', path: '/api/v1/calls/call-ab' },
  getDeviceEf: { method: 'GET', path: '/api/v1/devices/rt-a1/ef' },
  getSettlement: { method: 'GET', path: `/api/v1/clearinghouse/settlement?fromMs=${Date.UTC(2026, 0, 1)}&toMs=${Date.UTC(2026, 1, 1)}` },
  exportCdrs: { method: 'GET', path: `/api/v1/clearinghouse/cdrs.csv?fromMs=${Date.UTC(2026, 0, 1)}&toMs=${Date.UTC(2026, 1, 1)}` },
  sendCommand: { method: 'POST', path: '/api/v1/devices/rt-a1/commands', body: { name: 'status', deadlineS: 30 } },
  listCommands: { method: 'GET', path: '/api/v1/devices/rt-a1/commands' },
  getCommand: { method: 'GET', path: '/api/v1/commands/cmd-a1' },
  getGroupConfig: { method: 'GET', path: '/api/v1/groups/g-a/config' },
  putGroupConfig: { method: 'PUT', path: '/api/v1/groups/g-open/config', body: { template: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '${up}', downlink_kbit: '40000' } }], variables: { up: '5000' }, driftPolicy: 'router-wins' } },
  getDeviceOverrides: { method: 'GET', path: '/api/v1/devices/rt-a1/config/overrides' },
  putDeviceOverrides: { method: 'PUT', path: '/api/v1/devices/rt-open/config/overrides', body: { overrides: [{ type: 'agent', name: 'agent', options: { log_level: 'debug' } }], variables: {} } },
  createConfigDraft: { method: 'POST', path: '/api/v1/config/drafts', body: { groups: [{ group: 'g-a', variables: { up: '12000' } }] } },
  deployConfigDraft: { method: 'POST', path: '/api/v1/config/drafts/draft-a/deploy', body: {} },
  discardConfigDraft: { method: 'DELETE', path: '/api/v1/config/drafts/draft-a2' },
  getDeviceConfig: { method: 'GET', path: '/api/v1/devices/rt-a1/config' },
  diffDeviceConfig: { method: 'GET', path: '/api/v1/devices/rt-a1/config/versions/1/diff/2' },
  getRollout: { method: 'GET', path: '/api/v1/rollouts/ro-a' },
};

/** Another domain's resource for each domain-scoped route: an admin of dom-a gets 404 for it. */
export const OTHER_DOMAIN: Partial<Record<RouteName, Request>> = {
  getDevice: { method: 'GET', path: '/api/v1/devices/rt-b1' },
  patchDevice: { method: 'PATCH', path: '/api/v1/devices/rt-b1', body: { name: 'mine now' } },
  approveDevice: { method: 'POST', path: '/api/v1/devices/rt-b-pend/approve' },
  rejectDevice: { method: 'POST', path: '/api/v1/devices/rt-b-pend/reject', body: { reason: 'x' } },
  revokeDevice: { method: 'POST', path: '/api/v1/devices/rt-b1/revoke', body: { reason: 'x' } },
  revokeKey: { method: 'POST', path: '/api/v1/enrolment-keys/keybbbb1/revoke' },
  patchOperator: { method: 'PATCH', path: '/api/v1/operators/op-spare-b', body: { role: 'admin' } },
  getCall: { method: 'GET', path: '/api/v1/calls/call-b' },
  getDeviceEf: { method: 'GET', path: '/api/v1/devices/rt-b1/ef' },
  sendCommand: { method: 'POST', path: '/api/v1/devices/rt-b1/commands', body: { name: 'status' } },
  listCommands: { method: 'GET', path: '/api/v1/devices/rt-b1/commands' },
  getCommand: { method: 'GET', path: '/api/v1/commands/cmd-b1' },
  getGroupConfig: { method: 'GET', path: '/api/v1/groups/g-b/config' },
  putGroupConfig: { method: 'PUT', path: '/api/v1/groups/g-b/config', body: { template: [], variables: {} } },
  getDeviceOverrides: { method: 'GET', path: '/api/v1/devices/rt-b1/config/overrides' },
  putDeviceOverrides: { method: 'PUT', path: '/api/v1/devices/rt-b1/config/overrides', body: { overrides: [], variables: {} } },
  deployConfigDraft: { method: 'POST', path: '/api/v1/config/drafts/draft-b/deploy', body: {} },
  discardConfigDraft: { method: 'DELETE', path: '/api/v1/config/drafts/draft-b2' },
  getDeviceConfig: { method: 'GET', path: '/api/v1/devices/rt-b1/config' },
  diffDeviceConfig: { method: 'GET', path: '/api/v1/devices/rt-b1/config/versions/1/diff/2' },
  getRollout: { method: 'GET', path: '/api/v1/rollouts/ro-b' },
};
