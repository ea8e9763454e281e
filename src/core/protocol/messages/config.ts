/**
 * Configuration messages: the fleet's way of setting a router's own settings (its UCI package
 * `callqos`, described by src/core/config/agent-config.ts) remotely, as a numbered version, and
 * hearing back what became of it (docs/fleet.md, "Configuration").
 *
 * The server sends a whole version, never a patch: the router validates it against its spec
 * (nothing changes if it does not pass: `rejected` with the field paths), writes it atomically,
 * applies the data plane without dropping a live gate, and, when the version carries a `cloud`
 * section other than the router's (without one, the router keeps its own), checks the link within
 * `linkCheckS` and returns to its last good version if the link does not come back
 * (`rolled-back`). Only what the router reports is ever shown as applied. A local edit (LuCI,
 * `uci`) is reported as `drift` with the sections as they now are (without the router's own
 * `cloud` section when the applied version carried none).
 */
import { counter, text } from '../fields.ts';
import { arr, int, nullable, obj, oneOf, optional, record, str, type Infer } from '../schema.ts';
import { REASON_MAX } from '../limits.ts';

/** A UCI name (section or option), as libuci allows it. */
const uciName = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_]+$/, format: 'UCI name' });
/** A UCI section type: printable ASCII without spaces. */
const uciType = str({ min: 1, max: 64, pattern: /^[\x21-\x7e]+$/, format: 'UCI section type' });
/** An option's value: one line of text (UCI values hold no newline here). */
const uciValue = str({ min: 0, max: 256, pattern: /^[^\x00-\x1f\x7f]*$/, format: 'UCI value (one line of printable text)' });

export const MAX_CONFIG_SECTIONS = 256;

/** One `config <type> '<name>'` section; an anonymous one is named by position (`@gate[2]`) on the router. */
export const configSection = obj({
  type: uciType,
  /** Null for an anonymous section. */
  name: nullable(uciName),
  /** `option <key> '<value>'` lines. */
  options: record(uciName, uciValue, { max: 64 }),
  /** `list <key> '<value>'` lines, by key, in order. */
  lists: record(uciName, arr(uciValue, { max: 64 }), { max: 16 }),
});

/** The content hash of a version's sections (FNV-1a 64 over canonical JSON, src/core/fleet/config-version.ts). */
export const configHash = str({ min: 16, max: 16, pattern: /^[0-9a-f]{16}$/, format: 'config hash (16 hex digits)' });

/** `config.apply` (server -> device, `down`): set this version. */
export const configApplyBody = obj({
  /** Monotonic per device. */
  version: counter,
  hash: configHash,
  sections: arr(configSection, { max: MAX_CONFIG_SECTIONS }),
  /**
   * With a `cloud` section other than the router's: how long the router waits for the link before
   * it rolls back. A version without a `cloud` section leaves the router's own in place.
   */
  linkCheckS: int({ min: 5, max: 600 }),
});

export const CONFIG_STATES = ['applying', 'applied', 'rejected', 'rolled-back', 'drift'] as const;
export type ConfigState = (typeof CONFIG_STATES)[number];

/** A problem with one field of a version: the path names section and option (`qos.uplink_kbit`, `gate[2].rate_kbit`). */
export const configProblem = obj({ path: text(128, 1), message: text(REASON_MAX, 1) });

/** The QoS self-test the router runs after applying, before it reports `applied`. */
export const selfTestBody = obj({
  table: oneOf(['ok', 'missing', 'skipped'] as const),
  queues: oneOf(['ok', 'missing', 'skipped'] as const),
  /** A live gate's counters moved during the test; skipped without a live gate or traffic. */
  counters: oneOf(['ok', 'stalled', 'skipped'] as const),
});

/** `config.report` (device -> server, `up`; corr = the `config.apply` it answers, absent for drift). */
export const configReportBody = obj({
  /** The version this report is about (for drift: the last one the router applied, 0 for none). */
  version: counter,
  hash: configHash,
  state: oneOf(CONFIG_STATES),
  /** E_CODE: detail, for rejected and rolled-back. */
  reason: optional(text(REASON_MAX, 1)),
  problems: optional(arr(configProblem, { max: 32 })),
  selfTest: optional(selfTestBody),
  /** For drift: the sections as they now are on the router. */
  sections: optional(arr(configSection, { max: MAX_CONFIG_SECTIONS })),
});

export type ConfigSection = Infer<typeof configSection>;
export type ConfigApplyBody = Infer<typeof configApplyBody>;
export type ConfigReportBody = Infer<typeof configReportBody>;
export type ConfigProblem = Infer<typeof configProblem>;
export type SelfTest = Infer<typeof selfTestBody>;
