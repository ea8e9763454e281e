/**
 * Fleet messages: remote commands from fleet management to one device. No COPS counterpart.
 */
import { errorCode, text } from '../fields.ts';
import { json, literal, obj, oneOf, record, str, union, type Infer } from '../schema.ts';
import { REASON_MAX } from '../limits.ts';

/**
 * status, gates, stats, interfaces: read the router's state; reload: re-read its config;
 * resync: resynchronise its gates with the server; restart: restart the agent; rotate-credentials:
 * the router chooses a new broker password and returns it (only servers read results);
 * diagnostics: the rendered ruleset, `nft list table`, `tc -s`, the log tail and the interface
 * dump, one bounded part per command (`part`); test-gate: install a gate for a given 5-tuple for
 * some seconds, to check marking from the cloud.
 */
export const COMMANDS = ['status', 'reload', 'gates', 'stats', 'interfaces', 'resync', 'restart', 'rotate-credentials', 'diagnostics', 'test-gate'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Room for a gate table or counters, small enough for a router to build and send. */
export const MAX_RESULT_DATA = 64 * 1024;

/**
 * `command` (server -> device): run one of a closed set of commands. Arguments are strings,
 * so the agent parses each one against what that command expects.
 */
export const commandBody = obj({
  name: oneOf(COMMANDS),
  args: record(str({ min: 1, max: 32, pattern: /^[A-Za-z][A-Za-z0-9_-]*$/, format: 'argument name' }), text(256), { max: 16 }),
});

/**
 * `result` (device -> server, corr = the command): either `{ok: true, data}` with any JSON value
 * (null when there is nothing to say) or `{ok: false, error: {code, message}}`.
 */
export const resultBody = union('ok', [
  obj({ ok: literal(true), data: json({ maxDepth: 16, maxLength: MAX_RESULT_DATA }) }),
  obj({ ok: literal(false), error: obj({ code: errorCode, message: text(REASON_MAX) }) }),
]);

export type CommandBody = Infer<typeof commandBody>;
export type ResultBody = Infer<typeof resultBody>;
