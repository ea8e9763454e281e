/**
 * Levelled logging to one line per record. On the router procd hands standard error to logd,
 * which adds the time and the program name, so a record is just `level: message key=value…`.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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

export function createLogger(writeLine: (line: string) => void, minLevel: LogLevel = 'info', base: LogFields = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(minLevel);
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) >= threshold) writeLine(formatLogLine(level, message, { ...base, ...fields }));
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (component) => createLogger(writeLine, minLevel, { ...base, component }),
  };
}
