/**
 * Calls into OpenWrt's system bus through the `ubus` CLI (QuickJS has no sockets): argv only,
 * never a shell, each call with a time limit after which the child is killed. `-S` makes ubus
 * print the reply as one compact JSON line and nothing on standard error, so a failure is known by
 * its exit code (ubus cli.c main): the UBUS_STATUS_* of the call (4 for an object that does not
 * exist), 255 (-1) when it cannot reach ubusd, 254 (-2) for a usage error; the host reports 127
 * when there is no `ubus`.
 */
import type { Host } from '../../core/host/index.ts';
import type { JsonValue } from '../../core/protocol/schema.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import { detach } from '../../core/detach.ts';
import { fail, ok, type CoreError, type Result } from '../../core/result.ts';
import { parseBoard, parseInterfaceDump, UbusCode, type BoardInfo, type InterfaceDump } from '../../core/ubus/index.ts';

export const UBUS_CALL_TIMEOUT_MS = 10_000;
/** A dump of a router with many VLANs is tens of kilobytes; this only bounds a runaway. */
const MAX_OUTPUT_CHARS = 4 * 1024 * 1024;

/** ubus object paths (`network.interface.wan`, `hostapd.wlan0`) and method names, never an option. */
const OBJECT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const METHOD = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** libubus's ubus_strerror texts, by UBUS_STATUS_* number. */
const STATUS_TEXT = [
  'Success', 'Invalid command', 'Invalid argument', 'Method not found', 'Not found', 'No response', 'Permission denied',
  'Request timed out', 'Operation not supported', 'Unknown error', 'Connection failed', 'Out of memory',
  'Parsing message data failed', 'System error',
];

export interface UbusError extends CoreError {
  /** How `ubus` ended, for E_UBUS_EXIT. */
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  /** Its first non-empty line of standard error, if any. */
  readonly stderr?: string;
}

export interface UbusCallOptions {
  readonly timeoutMs?: number;
}

function exitMeaning(code: number | null, signal: string | null): string {
  if (signal !== null) return `killed by ${signal}`;
  if (code === 127) return 'exit 127 (no ubus program)';
  if (code === 255) return 'exit 255 (cannot connect to ubusd)';
  if (code === 254) return 'exit 254 (usage error)';
  const text = code === null ? undefined : STATUS_TEXT[code];
  return text === undefined ? `exit ${code}` : `exit ${code} (${text})`;
}

/**
 * `ubus -S call <object> <method> <json>`: the parsed reply, null for a method that replies
 * nothing. Errors: E_UBUS_ARG (a name or argument that cannot be passed), E_UBUS_EXIT (with
 * exitCode, signal and stderr), E_UBUS_TIMEOUT (the child is killed), E_UBUS_JSON.
 */
export function ubusCall(
  host: Host,
  object: string,
  method: string,
  args: Readonly<Record<string, JsonValue>> = {},
  options: UbusCallOptions = {},
): Promise<Result<unknown, UbusError>> {
  const what = `ubus call ${object} ${method}`;
  const refuse = (message: string) => Promise.resolve(fail<UbusError>({ code: UbusCode.ARG, message: `${what}: ${message}`, path: '' }));
  if (!OBJECT.test(object)) return refuse('not a valid object name');
  if (!METHOD.test(method)) return refuse('not a valid method name');
  let message: string | undefined;
  try {
    message = JSON.stringify(args);
  } catch {
    message = undefined;
  }
  if (message === undefined || !message.startsWith('{')) return refuse('the argument must be a JSON object');

  return new Promise((resolve) => {
    const stdout: string[] = [];
    let chars = 0;
    let tooLong = false;
    let stderr = '';
    let settled = false;
    const child = host.processes.spawn(['ubus', '-S', 'call', object, method, message], {
      onStdoutLine: (line) => {
        chars += line.length + 1;
        if (chars > MAX_OUTPUT_CHARS) tooLong = true;
        else stdout.push(line);
      },
      onStderrLine: (line) => {
        if (stderr === '' && line.trim() !== '') stderr = line.trim().slice(0, 300);
      },
      onOverflow: () => (tooLong = true),
    });
    child.closeStdin();
    const finish = (result: Result<unknown, UbusError>) => {
      if (settled) return;
      settled = true;
      host.timers.clearTimeout(timer);
      resolve(result);
    };
    // Settles at once rather than when the child is reaped, so that nothing can hold the caller.
    const timer = host.timers.setTimeout(() => {
      child.kill('SIGKILL');
      const ms = options.timeoutMs ?? UBUS_CALL_TIMEOUT_MS;
      finish(fail({ code: UbusCode.TIMEOUT, message: `${what}: no answer within ${ms} ms`, path: '' }));
    }, options.timeoutMs ?? UBUS_CALL_TIMEOUT_MS);
    const settle = child.exited.then((status) => {
      if (status.code !== 0 || status.signal !== null) {
        const how = exitMeaning(status.code, status.signal);
        finish(fail({ code: UbusCode.EXIT, message: `${what}: ${how}${stderr ? `: ${stderr}` : ''}`, path: '', exitCode: status.code, signal: status.signal, stderr }));
        return;
      }
      if (tooLong) {
        finish(fail({ code: UbusCode.JSON, message: `${what}: output longer than ${MAX_OUTPUT_CHARS} characters`, path: '' }));
        return;
      }
      const text = stdout.join('\n');
      if (text.trim() === '') {
        finish(ok(null));
        return;
      }
      const parsed = parseStrictJson(text);
      finish(parsed.ok ? parsed : fail({ code: UbusCode.JSON, message: `${what}: ${parsed.error.message}`, path: '' }));
    });
    detach(settle, (error) => finish(fail({ code: UbusCode.JSON, message: `${what}: ${String(error)}`, path: '' })));
  });
}

async function callAndRead<T>(host: Host, object: string, method: string, read: (value: unknown) => Result<T>, options: UbusCallOptions): Promise<Result<T, UbusError>> {
  const r = await ubusCall(host, object, method, {}, options);
  return r.ok ? read(r.value) : r;
}

/** `network.interface dump`, parsed; E_UBUS_SHAPE names the path of what netifd printed unexpectedly. */
export function readInterfaces(host: Host, options: UbusCallOptions = {}): Promise<Result<InterfaceDump, UbusError>> {
  return callAndRead(host, 'network.interface', 'dump', parseInterfaceDump, options);
}

/** `system board`, parsed. */
export function readBoard(host: Host, options: UbusCallOptions = {}): Promise<Result<BoardInfo, UbusError>> {
  return callAndRead(host, 'system', 'board', parseBoard, options);
}
