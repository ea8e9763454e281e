/**
 * A configuration version as the router's config file, and the file back as a version's
 * sections, pure. The file is rendered by the project's UCI renderer (the layout `uci export`
 * writes), so no value from a message ever passes through a shell or a `uci` command line.
 */
import { AGENT_PACKAGE, parseAgentConfig } from '../../config/agent-config.ts';
import type { ConfigProblem, ConfigSection } from '../../protocol/messages/config.ts';
import { parseUci } from '../../uci/parse.ts';
import { renderUci } from '../../uci/render.ts';
import { fromUciSections, toUciSections, validateConfig } from '../config-version.ts';
import { fail, ok, type Result } from '../../result.ts';

/**
 * The file for a version, or every problem by path (`qos.uplink_kbit`, `gate[2].rate_kbit`).
 * Checked twice: strictly against the spec, then the rendered text through the agent's own
 * reader, which must take it without a warning (what it would skip or default is a problem).
 */
export function renderVersion(sections: readonly ConfigSection[]): Result<string, ConfigProblem[]> {
  const problems = validateConfig(sections);
  if (problems.length > 0) return fail(problems);
  const text = renderUci(toUciSections(sections), AGENT_PACKAGE);
  const read = parseAgentConfig(text);
  if (!read.ok) return fail([{ path: read.error.path ?? 'config', message: read.error.message }]);
  if (read.value.warnings.length > 0) return fail(read.value.warnings.map((message) => ({ path: 'config', message })));
  return ok(text);
}

/** The sections of a config file as it is now (for drift), or null when it is not UCI at all. */
export function sectionsOfFile(text: string): ConfigSection[] | null {
  const parsed = parseUci(text);
  return parsed.ok ? fromUciSections(parsed.value.sections) : null;
}
