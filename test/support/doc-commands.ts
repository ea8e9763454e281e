/**
 * The commands a reader of the documentation is told to type: every command in a fenced `sh`
 * block, and every inline code span that starts with `npm`, `node` or `curl`, as written.
 * A command in a block may run over several lines (a trailing backslash, or a quoted string
 * that goes on); comments after it are not part of it.
 */

export interface DocCommand {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

const RUNNABLE = /^(npm|node|curl)(\s|$)/;

/** Whether `text` ends outside quotes and not after a backslash: a whole shell command. */
function isComplete(text: string): boolean {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === null && c === '\\') i++;
    else if (quote === null && (c === "'" || c === '"')) quote = c;
    else if (quote === '"' && c === '\\') i++;
    else if (c === quote) quote = null;
  }
  return quote === null && !/\\\s*$/.test(text);
}

/** The line without a `# comment` that starts outside quotes. */
function withoutComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === null && (c === "'" || c === '"')) quote = c;
    else if (c === quote) quote = null;
    else if (quote === null && c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line;
}

export function commandsIn(file: string, markdown: string): DocCommand[] {
  const found: DocCommand[] = [];
  const lines = markdown.split('\n');
  let fence: 'sh' | 'other' | null = null;
  let pending: { line: number; text: string } | null = null;
  lines.forEach((raw, index) => {
    const fenceMark = /^\s*```(\S*)/.exec(raw);
    if (fenceMark) {
      fence = fence === null ? (['sh', 'bash', 'shell'].includes(fenceMark[1]!) ? 'sh' : 'other') : null;
      pending = null;
      return;
    }
    if (fence === 'other') return;
    if (fence === 'sh') {
      const line = pending === null ? withoutComment(raw).trim() : raw;
      if (pending === null && line === '') return;
      pending = pending === null ? { line: index + 1, text: line } : { line: pending.line, text: `${pending.text}\n${raw}` };
      if (isComplete(pending.text)) {
        const text = withoutComment(pending.text).trim();
        if (RUNNABLE.test(text)) found.push({ file, line: pending.line, text });
        pending = null;
      }
      return;
    }
    for (const span of raw.matchAll(/`([^`]+)`/g)) {
      const text = span[1]!.trim();
      if (RUNNABLE.test(text)) found.push({ file, line: index + 1, text });
    }
  });
  return found;
}
