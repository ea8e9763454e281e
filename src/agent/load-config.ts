import type { AgentConfig } from '../core/config/index.ts';
import { parseAgentConfig } from '../core/config/index.ts';
import type { Host } from '../core/host/index.ts';
import type { Logger } from '../core/log.ts';

/** Reads and validates the agent's UCI config; problems are logged, and null means unusable. */
export function loadConfig(host: Host, log: Logger, path: string): AgentConfig | null {
  const text = host.files.readText(path);
  if (!text.ok) {
    log.error('cannot read config', { path, code: text.error.code });
    return null;
  }
  const parsed = parseAgentConfig(text.value);
  if (!parsed.ok) {
    log.error(`config ${path}: ${parsed.error.message}`, { code: parsed.error.code });
    return null;
  }
  for (const warning of parsed.value.warnings) log.warn(`config ${path}: ${warning}`);
  return parsed.value.config;
}
