/**
 * logging: how every long-running `callqos-cloud` command logs. One logger per process, on
 * standard error, in one format (`--log-format text|json`); the broker's and the MQTT client's
 * messages go through it too, their structured fields flattened into plain fields.
 */
import { createLogger, isLogFormat, isLogLevel, type LogFields, type LogFormat, type Logger, type LogLevel } from '../../core/log.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import type { OptionSpec } from './args.ts';

export interface LogSettings {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

export const DEFAULT_LOG_SETTINGS: LogSettings = { level: 'info', format: 'text' };

export const LOG_OPTIONS: readonly OptionSpec[] = [
  { name: 'log-level', value: '<level>', help: `debug, info, warn or error (default ${DEFAULT_LOG_SETTINGS.level})` },
  { name: 'log-format', value: '<text|json>', help: `text: level: message key=value; json: one JSON object per line (default ${DEFAULT_LOG_SETTINGS.format})` },
];

export function parseLogLevel(text: string, flag = '--log-level'): Result<LogLevel> {
  return isLogLevel(text) ? ok(text) : fail({ code: 'E_ARGS', message: `${flag} is debug, info, warn or error`, path: flag });
}

export function parseLogFormat(text: string, flag = '--log-format'): Result<LogFormat> {
  return isLogFormat(text) ? ok(text) : fail({ code: 'E_ARGS', message: `${flag} is text or json`, path: flag });
}

export function processLogger(settings: LogSettings, service: string): Logger {
  return createLogger((line) => process.stderr.write(`${line}\n`), settings.level, { service }, settings.format);
}

/** Structured fields from a library's log call as plain log fields: nested values become short text, never JSON. */
export function flattenFields(fields: Record<string, unknown> | undefined): LogFields {
  const flat: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') flat[key] = value;
    else if (value instanceof Error) flat[key] = value.message;
    else if (Array.isArray(value)) flat[key] = value.map(String).join(',');
    else flat[key] = String(value);
  }
  return flat;
}

/** The `info`/`warn` interface the embedded broker and the MQTT client log through, onto `log`. */
export function libraryLog(log: Logger, prefix: string): { info(message: string, fields?: Record<string, unknown>): void; warn(message: string, fields?: Record<string, unknown>): void } {
  return {
    info: (message, fields) => log.info(`${prefix}: ${message}`, flattenFields(fields)),
    warn: (message, fields) => log.warn(`${prefix}: ${message}`, flattenFields(fields)),
  };
}

/**
 * The line that says a service is up (`… listening …`), logged at info whatever `--log-level`
 * says: scripts and service managers wait for it, and a quiet log level must not hide it.
 */
export function announce(settings: LogSettings, service: string, message: string, fields?: LogFields): void {
  processLogger({ ...settings, level: 'info' }, service).info(message, fields);
}
