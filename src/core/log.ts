/**
 * Levelled logging to one line per record, in one of two formats:
 * - `text` (the default): `level: message key=value…`. On the router procd hands standard error
 *   to logd, and in the cloud a service manager's journal, which add the time and the program.
 * - `json`: one JSON object per line, `{"time","level","msg",…fields}`, for log collectors.
 * A field value is a string, number or boolean, never a nested object, so a text line never
 * carries escaped JSON.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `component` to every record. */
  child(component: string): Logger;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** A value is quoted when it has spaces, quotes or `=`, so that a line always splits back into fields. */
function formatValue(value: string | number | boolean | null): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

export function formatLogLine(level: LogLevel, message: string, fields: LogFields = {}): string {
  let line = `${level}: ${message.replace(/[\r\n]+/g, ' ')}`;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
  }
  return line;
}

/** One JSON object; the record's own keys (time, level, msg) win over fields of the same name. */
export function formatJsonLogLine(level: LogLevel, message: string, fields: LogFields = {}, time: Date = new Date()): string {
  const record: Record<string, string | number | boolean | null> = {};
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value !== undefined) record[key] = value;
  }
  return JSON.stringify({ ...record, time: time.toISOString(), level, msg: message });
}

export function createLogger(writeLine: (line: string) => void, minLevel: LogLevel = 'info', base: LogFields = {}, format: LogFormat = 'text'): Logger {
  const threshold = LOG_LEVELS.indexOf(minLevel);
  const render = format === 'json' ? formatJsonLogLine : formatLogLine;
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) >= threshold) writeLine(render(level, message, { ...base, ...fields }));
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (component) => createLogger(writeLine, minLevel, { ...base, component }, format),
  };
}
