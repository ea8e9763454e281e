/**
 * Gate messages: the policy exchange proper (RFC 2748 sections 3.1-3.5 and 3.10).
 *
 * A gate admits one call's media flow between a LAN host and a remote end: the router marks it
 * with `dscp`, queues it ahead of bulk and polices it to `rateKbps`. A gate stays installed for
 * `lifetimeS` unless refreshed, as a safety net for a lost removal (DESIGN.md section 3).
 */
import { counter, familyOf, gateDscp, gateId, hostAddress, messageId, sessionRef, stateVersion, errorCode, text, timestamp, udpPort } from '../fields.ts';
import type { CoreError } from '../../result.ts';
import { Code, arr, int, keyPath, nullable, obj, oneOf, optional, refine, str, type Infer, type Schema } from '../schema.ts';
import { GATE_RATE_MAX_KBPS, REASON_MAX } from '../limits.ts';

export const MAX_GATES = 64;

export const DIRECTIONS = ['both', 'up', 'down'] as const;
export type Direction = (typeof DIRECTIONS)[number];

const lanEnd = obj({ address: hostAddress, port: udpPort });
/** A null address or port is a wildcard: the far side may be hidden behind NAT or not yet known. */
const remoteEnd = obj({ address: nullable(hostAddress), port: nullable(udpPort) });

const flowShape = {
  /** `up` is LAN host to remote, `down` the reverse. */
  direction: oneOf(DIRECTIONS),
  lan: lanEnd,
  remote: remoteEnd,
  dscp: gateDscp,
  rateKbps: int({ min: 1, max: GATE_RATE_MAX_KBPS }),
  lifetimeS: int({ min: 10, max: 86400 }),
  /** The call this flow belongs to, for accounting. */
  session: optional(sessionRef),
} as const;

function sameFamily(v: { lan: { address: string }; remote: { address: string | null } }, path: string): CoreError | undefined {
  if (v.remote.address === null || familyOf(v.remote.address) === familyOf(v.lan.address)) return undefined;
  return { code: Code.FAMILY, message: 'lan and remote addresses must be of one IP family', path: keyPath(keyPath(path, 'remote'), 'address') };
}

/** A flow a device asks about: a gate without an id. */
export const flowSpec = refine(obj(flowShape), sameFamily);
export const gate = refine(obj({ id: gateId, ...flowShape }), sameFamily);

const gateList = (min: number) => arr(gate, { min, max: MAX_GATES, unique: { key: (g) => g.id, field: 'id' } });
const gateIds = arr(gateId, { min: 1, max: MAX_GATES, unique: { key: (id) => id } });
function byId<T extends { id: string }>(item: Schema<T>, min: number): Schema<T[]> {
  return arr(item, { min, max: MAX_GATES, unique: { key: (x) => x.id, field: 'id' } });
}

/** Which slice of a list too long for one message this is: index 0..count-1. */
const part = refine(obj({ index: int({ min: 0, max: 1023 }), count: int({ min: 1, max: 1024 }) }), (p, path) =>
  p.index < p.count ? undefined : { code: Code.RANGE, message: 'index must be below count', path: keyPath(path, 'index') },
);

/**
 * `request` (device -> server; COPS Request, REQ, section 3.1): the device asks for a decision on flows it
 * saw or was configured with. `handle` names the request state that decisions refer to.
 */
export const requestBody = obj({ handle: messageId, flows: arr(flowSpec, { min: 1, max: MAX_GATES }) });

/**
 * `decision.install` / `decision.modify` (server -> device; COPS Decision, DEC, section 3.2, with the
 * Install command): put these gates in place; modify replaces gates of the same id. `version` is the
 * desired-state version after the decision; `handle` is set when it answers a request.
 */
export const installBody = obj({ version: stateVersion, handle: optional(messageId), gates: gateList(1) });
export const modifyBody = installBody;

/** `decision.remove` (server -> device; COPS DEC with the Remove command): take these gates out. */
export const removeBody = obj({ version: stateVersion, handle: optional(messageId), gates: gateIds });

/**
 * `report.success` (device -> server, corr = the decision; COPS Report State, RPT, section
 * 3.3, type Success): these gates are installed, or removed. `version` is the device's desired-state
 * version now. Only this makes a session QoS-active: authorized is not installed.
 */
export const successBody = obj({ version: stateVersion, gates: gateIds });

/** `report.failure` (device -> server, corr = the decision; COPS RPT, type Failure): per gate why not. */
export const failureBody = obj({
  version: stateVersion,
  gates: byId(obj({ id: gateId, code: errorCode, message: text(REASON_MAX) }), 1),
});

export const END_REASONS = ['removed', 'expired', 'replaced'] as const;
const traffic = obj({ packets: counter, bytes: counter });

/** One gate's counters; `ended` is absent in an interim report. Seen times are null before any packet. */
export const usage = refine(
  obj({
    id: gateId,
    session: optional(sessionRef),
    up: traffic,
    down: traffic,
    firstSeen: nullable(timestamp),
    lastSeen: nullable(timestamp),
    ended: optional(oneOf(END_REASONS)),
  }),
  (u, path) =>
    u.firstSeen !== null && u.lastSeen !== null && u.lastSeen < u.firstSeen
      ? { code: Code.RANGE, message: 'lastSeen is before firstSeen', path: keyPath(path, 'lastSeen') }
      : undefined,
);

/** `report.accounting` (device -> server; COPS RPT, type Accounting): usage per gate. */
export const accountingBody = obj({ gates: byId(usage, 1) });

export const DELETE_REASONS = ['expired', 'interface-down', 'admin', 'capacity', 'error'] as const;

/**
 * `delete` (device -> server; COPS Delete Request State, DRQ, section 3.4): the device removed these gates by
 * itself (lifetime over, interface gone, local administrator, ...). The server must not expect them.
 */
export const deleteBody = obj({ gates: gateIds, reason: oneOf(DELETE_REASONS) });

/** A gate's content digest (see digest.ts): lower-case hex. */
const gateHashText = str({ min: 8, max: 64, pattern: /^[0-9a-f]+$/, format: 'hash (lower-case hex)' });

/**
 * `sync.request` (device -> server, after every reconnect): the gates the device holds and the
 * desired-state version it last reached. COPS has the PDP ask with SSQ (section 3.5); here the
 * device starts, since only it knows when it has reconnected. Long lists come in `part`s.
 */
export const syncRequestBody = obj({
  version: stateVersion,
  part,
  gates: byId(obj({ id: gateId, hash: gateHashText }), 0),
});

/**
 * `sync.complete` (server -> device, corr = the sync.request; COPS Synchronize State Complete,
 * SSC, section 3.10): the whole desired gate list. The device installs what differs and removes
 * every gate not listed once the last part has arrived.
 */
export const syncCompleteBody = obj({ version: stateVersion, part, gates: gateList(0) });

/**
 * `desired` (server, retained on the device's desired-state topic): a summary of the gate list the
 * server wants the device to hold. A device whose own `desiredDigest` differs asks for a sync;
 * one that matches has nothing to do, however many gates it holds. No COPS counterpart: COPS
 * keeps this state in the TCP connection, MQTT keeps it in the broker.
 */
export const desiredBody = obj({ version: stateVersion, count: int({ min: 0, max: 65535 }), digest: gateHashText });

export type Gate = Infer<typeof gate>;
export type DesiredBody = Infer<typeof desiredBody>;
export type FlowSpec = Infer<typeof flowSpec>;
export type Usage = Infer<typeof usage>;
export type EndReason = (typeof END_REASONS)[number];
export type DeleteReason = (typeof DELETE_REASONS)[number];
export type RequestBody = Infer<typeof requestBody>;
export type InstallBody = Infer<typeof installBody>;
export type ModifyBody = Infer<typeof modifyBody>;
export type RemoveBody = Infer<typeof removeBody>;
export type SuccessBody = Infer<typeof successBody>;
export type FailureBody = Infer<typeof failureBody>;
export type AccountingBody = Infer<typeof accountingBody>;
export type DeleteBody = Infer<typeof deleteBody>;
export type SyncRequestBody = Infer<typeof syncRequestBody>;
export type SyncCompleteBody = Infer<typeof syncCompleteBody>;
