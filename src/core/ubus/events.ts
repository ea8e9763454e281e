/**
 * Lines of `ubus listen network.interface`. The ubus CLI prints each event as
 * `{ "<type>": <data> }` and one newline (cli.c print_event; data in libubox's compact JSON), e.g.
 *
 *   { "network.interface": {"action":"ifup","interface":"wan"} }
 *
 * netifd sends that event only for `ifup` and `ifdown` (ubus.c netifd_ubus_interface_event,
 * called from interface-event.c for IFEV_UP / IFEV_DOWN). Address and prefix changes without a
 * state change (hotplug's `ifupdate`) are no event: netifd only notifies subscribers of its
 * `network.interface` object with `interface.update` / `interface.down` and the full status, which
 * `ubus subscribe network.interface` prints as `{ "interface.update": {"interface":"wan6",…} }`.
 * Those lines are understood here too, and so are `ubus.object.add` / `ubus.object.remove` for a
 * `network.interface.<name>` path (an interface created or removed), should a caller listen to them.
 */
import { parseStrictJson } from '../protocol/strict-json.ts';
import { str } from '../protocol/schema.ts';
import { fail, ok, type Result } from '../result.ts';
import { loose, readAs, UbusCode } from './read.ts';

/** `update`: something about the interface may have changed without it going up or down. */
export type InterfaceAction = 'ifup' | 'ifdown' | 'update';

export interface InterfaceEvent {
  readonly action: InterfaceAction;
  /** The UCI interface name. */
  readonly interface: string;
}

const MAX_LINE = 1024 * 1024;
const OBJECT_PREFIX = 'network.interface.';

const eventData = loose({ action: str({ min: 1, max: 64 }), interface: str({ min: 1, max: 256 }) });
const notifyData = loose({ interface: str({ min: 1, max: 256 }) });
const objectData = loose({ path: str({ min: 1, max: 512 }) });
/** Paths are given from the line's root, e.g. `["network.interface"].interface`. */
const root = (type: string) => `[${JSON.stringify(type)}]`;

/**
 * One output line to an event: ok(null) for an empty line or an event about something else;
 * E_UBUS_JSON for text that is not one JSON object of one key; E_UBUS_SHAPE for an interface event
 * without its fields.
 */
export function parseListenLine(line: string): Result<InterfaceEvent | null> {
  if (line.trim() === '') return ok(null);
  if (line.length > MAX_LINE) return fail({ code: UbusCode.JSON, message: `event line of ${line.length} characters is too long`, path: '' });
  const parsed = parseStrictJson(line);
  if (!parsed.ok) return fail({ code: UbusCode.JSON, message: `event line: ${parsed.error.message}`, path: '' });
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail({ code: UbusCode.JSON, message: 'event line is not a JSON object', path: '' });
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) return fail({ code: UbusCode.JSON, message: `event line has ${keys.length} keys, expected one event type`, path: '' });
  const type = keys[0] as string;
  const data = (value as Record<string, unknown>)[type];
  switch (type) {
    case 'network.interface': {
      const r = readAs(eventData, data, 'network.interface event', root(type));
      if (!r.ok) return r;
      const action = r.value.action === 'ifup' || r.value.action === 'ifdown' ? r.value.action : 'update';
      return ok({ action, interface: r.value.interface });
    }
    case 'interface.update':
    case 'interface.down': {
      const r = readAs(notifyData, data, `${type} notification`, root(type));
      if (!r.ok) return r;
      return ok({ action: type === 'interface.down' ? 'ifdown' : 'update', interface: r.value.interface });
    }
    case 'ubus.object.add':
    case 'ubus.object.remove': {
      const r = readAs(objectData, data, `${type} event`, root(type));
      if (!r.ok) return r;
      const path = r.value.path;
      if (!path.startsWith(OBJECT_PREFIX) || path.length === OBJECT_PREFIX.length) return ok(null);
      return ok({ action: type === 'ubus.object.add' ? 'update' : 'ifdown', interface: path.slice(OBJECT_PREFIX.length) });
    }
    default:
      return ok(null);
  }
}
