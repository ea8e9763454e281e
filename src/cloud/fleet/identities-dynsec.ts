/**
 * identities-dynsec: device logins on Mosquitto through its dynamic-security plugin
 * (dynsec-control.ts), with the rights of src/core/protocol/acl.ts.
 *
 * One role per device, `callqos-device-<id>`, holding the device's literal topics, made and
 * deleted with its client. Not one shared role with `%u` topics: Mosquitto 2.0.11's dynsec does
 * not substitute `%u` or `%c` in role ACL topics. Checked against the Debian build (2.0.11): a
 * role with publishClientSend `t/%u/up` refused the client `dev1` publishing `t/dev1/up`;
 * subscribeLiteral `t/%u/down`, subscribePattern `q/%u/x` and `p/%c/x` refused the literal
 * subscriptions; a publishClientReceive deny on `lit/%u/down` did not stop delivery; the same
 * ACLs with the literal topics worked. (`%u`/`%c` belong to the acl_file, not to dynsec 2.0.)
 *
 * The shared enrolment login `callqos-enrol` gets the role `callqos-enrol`:
 *   publishClientSend  allow  <root>/enrol/+/req    (a request for any hardware id)
 *   subscribePattern   allow  <root>/enrol/+/res    (the answer topic of any one hardware id …)
 *   subscribeLiteral   deny   <root>/enrol/+/res    (… but not the filter with the wildcard: a
 *                                                   subscribePattern allow alone lets it through)
 * Requests cannot be subscribed to: nothing allows it and dynsec denies subscriptions by default.
 *
 * Usernames are the device ids; the enrolment login's and the admin's own names are refused as
 * device ids. Changing a client in dynsec (modifyClient, disableClient, deleteClient) kicks its
 * live connection: a new password makes the device reconnect, which costs no call (the gates
 * live in the router's kernel).
 */
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { ENROL_PASSWORD, ENROL_USERNAME } from '../../core/protocol/acl.ts';
import { deviceTopic, treeRoot } from '../../core/protocol/topics.ts';
import { coreError, fail, ok, type Result } from '../../core/result.ts';
import type { BrokerIdentities } from './identities.ts';
import { openDynsecControl, type DynsecAnswer, type DynsecCommand, type DynsecControl, type DynsecControlOptions } from './dynsec-control.ts';

export const ENROL_ROLE = 'callqos-enrol';
export const DEVICE_ROLE_PREFIX = 'callqos-device-';

export interface DynsecIdentitiesOptions extends DynsecControlOptions {
  /** The policy domain whose tree (`<domain>/callqos/v1`) the topics are in; none: `callqos/v1`. */
  readonly domain?: string;
}

export interface DynsecIdentities extends BrokerIdentities {
  close(): Promise<void>;
}

export function deviceRoleName(deviceId: string): string {
  return `${DEVICE_ROLE_PREFIX}${deviceId}`;
}

/**
 * The broker errors that mean "already as wanted" for an idempotent step, by command. The texts
 * are Mosquitto 2.0's (plugins/dynamic-security); nothing else is tolerated.
 */
const ALREADY: Readonly<Record<string, readonly string[]>> = {
  createRole: ['Role already exists'],
  createClient: ['Client already exists'],
  addRoleACL: ['ACL with this topic already exists'],
  deleteClient: ['Client not found'],
  deleteRole: ['Role not found'],
  disableClient: ['Client not found'],
};

function refused(answer: DynsecAnswer): Result<void> {
  return fail(coreError('E_DYNSEC_REFUSED', `${answer.command}: ${answer.error ?? 'refused'}`));
}

/** Ok when every answer is a success or a tolerated "already so". */
function allOk(answers: readonly DynsecAnswer[]): Result<void> {
  for (const answer of answers) {
    if (answer.error !== undefined && !(ALREADY[answer.command] ?? []).includes(answer.error)) return refused(answer);
  }
  return ok(undefined);
}

export function createDynsecIdentities(options: DynsecIdentitiesOptions): DynsecIdentities {
  const root = treeRoot(options.domain);
  const control: DynsecControl = openDynsecControl(options);

  function checkDeviceId(deviceId: string): Result<void> {
    if (typeof deviceId !== 'string' || !DEVICE_ID.test(deviceId)) {
      return fail(coreError('E_INVALID_ID', `deviceId: not a valid device id: ${JSON.stringify(deviceId)}`, 'deviceId'));
    }
    if (deviceId === ENROL_USERNAME || deviceId === options.username) {
      return fail(coreError('E_INVALID_ID', `deviceId: ${deviceId} is reserved for the broker's own logins`, 'deviceId'));
    }
    return ok(undefined);
  }

  // One createRole with its ACLs rather than a command per ACL: the plugin rewrites its whole
  // JSON file after every command, so each command costs time in proportion to the fleet.
  const deviceRoleCommands = (deviceId: string): DynsecCommand[] => {
    const acl = (acltype: string, topic: string) => ({ acltype, topic, allow: true });
    return [{
      command: 'createRole',
      rolename: deviceRoleName(deviceId),
      acls: [
        acl('publishClientSend', deviceTopic(deviceId, 'up', root)),
        acl('publishClientSend', deviceTopic(deviceId, 'status', root)),
        acl('subscribeLiteral', deviceTopic(deviceId, 'down', root)),
        acl('subscribeLiteral', deviceTopic(deviceId, 'desired', root)),
      ],
    }];
  };

  return {
    kind: 'dynsec',

    async prepare() {
      const acl = (acltype: string, topic: string, allow: boolean, priority = 0): DynsecCommand =>
        ({ command: 'addRoleACL', rolename: ENROL_ROLE, acltype, topic, allow, priority });
      const answers = await control.send([
        { command: 'createRole', rolename: ENROL_ROLE },
        acl('publishClientSend', `${root}/enrol/+/req`, true),
        acl('subscribePattern', `${root}/enrol/+/res`, true),
        acl('subscribeLiteral', `${root}/enrol/+/res`, false, 10),
        { command: 'createClient', username: ENROL_USERNAME, password: ENROL_PASSWORD, textname: 'callqos enrolment (shared)', roles: [{ rolename: ENROL_ROLE }] },
        { command: 'getClient', username: ENROL_USERNAME },
      ]);
      if (!answers.ok) return answers;
      const done = allOk(answers.value);
      if (!done.ok) return done;
      // An existing enrolment login keeps its password and its enabled state: an operator may
      // have disabled enrolment on purpose, and modifying the client would kick every router
      // enrolling. Only a missing role is added. (2.0.11 answers addClientRole for a role the
      // client already has with "Internal error", so look first.)
      const roles = (answers.value[answers.value.length - 1]!.data as { client?: { roles?: { rolename?: unknown }[] } } | undefined)?.client?.roles ?? [];
      if (roles.some((r) => r.rolename === ENROL_ROLE)) return ok(undefined);
      const added = await control.send([{ command: 'addClientRole', username: ENROL_USERNAME, rolename: ENROL_ROLE }]);
      return added.ok ? allOk(added.value) : added;
    },

    async upsertDevice(deviceId, password) {
      const valid = checkDeviceId(deviceId);
      if (!valid.ok) return valid;
      if (typeof password !== 'string' || password.length === 0) {
        return fail(coreError('E_INVALID_PASSWORD', 'password: must be a non-empty string', 'password'));
      }
      const rolename = deviceRoleName(deviceId);
      const created = await control.send([
        ...deviceRoleCommands(deviceId),
        { command: 'createClient', username: deviceId, password, roles: [{ rolename }] },
      ]);
      if (!created.ok) return created;
      const roleDone = allOk(created.value.slice(0, -1));
      if (!roleDone.ok) return roleDone;
      const client = created.value[created.value.length - 1]!;
      if (client.error === undefined) return ok(undefined);
      if (client.error !== 'Client already exists') return refused(client);
      // An existing login: the new password, exactly this device's role, and enabled.
      const modified = await control.send([
        { command: 'modifyClient', username: deviceId, password, roles: [{ rolename }] },
        { command: 'enableClient', username: deviceId },
      ]);
      return modified.ok ? allOk(modified.value) : modified;
    },

    async disableDevice(deviceId) {
      const valid = checkDeviceId(deviceId);
      if (!valid.ok) return valid;
      const answers = await control.send([{ command: 'disableClient', username: deviceId }]);
      if (!answers.ok) return answers;
      const answer = answers.value[0]!;
      if (answer.error === 'Client not found') return fail(coreError('E_NOT_FOUND', `no broker login for device ${deviceId}`, 'deviceId'));
      return answer.error === undefined ? ok(undefined) : refused(answer);
    },

    async enableDevice(deviceId) {
      const valid = checkDeviceId(deviceId);
      if (!valid.ok) return valid;
      const answers = await control.send([{ command: 'enableClient', username: deviceId }]);
      if (!answers.ok) return answers;
      const answer = answers.value[0]!;
      if (answer.error === 'Client not found') return fail(coreError('E_NOT_FOUND', `no broker login for device ${deviceId}`, 'deviceId'));
      return answer.error === undefined ? ok(undefined) : refused(answer);
    },

    async removeDevice(deviceId) {
      const valid = checkDeviceId(deviceId);
      if (!valid.ok) return valid;
      // disableClient first: it kicks the live connection whatever deleteClient does about it.
      const answers = await control.send([
        { command: 'disableClient', username: deviceId },
        { command: 'deleteClient', username: deviceId },
        { command: 'deleteRole', rolename: deviceRoleName(deviceId) },
      ]);
      return answers.ok ? allOk(answers.value) : answers;
    },

    close: () => control.close(),
  };
}
