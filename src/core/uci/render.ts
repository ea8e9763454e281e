/**
 * Sections back to UCI text in the layout `uci export` writes (libuci file.c, uci_export_package):
 * a blank line before each section, options indented by a tab, every value in single quotes.
 */
import type { UciSection } from './section.ts';

/** `'…'` with each `'` written as `'\''`: close, escaped quote, reopen (uci_escape). */
export function quoteUci(value: string): string {
  return `'${value.split("'").join("'\\''")}'`;
}

/** Types and package names go bare, as uci writes them, unless a character would be read specially. */
function bare(text: string): string {
  return /^[^\s'"\\#;]+$/.test(text) ? text : quoteUci(text);
}

/**
 * Writes what uci holds: an empty option value (which uci treats as unset) and an empty list
 * are left out. Names are written as given, so they should be valid (as parseUci returns them).
 */
export function renderUci(sections: readonly UciSection[], packageName?: string): string {
  let out = packageName === undefined ? '' : `package ${bare(packageName)}\n`;
  for (const section of sections) {
    out += `\nconfig ${bare(section.type)}${section.anonymous ? '' : ` ${quoteUci(section.name)}`}\n`;
    for (const name of Object.keys(section.options)) {
      const value = section.options[name];
      if (typeof value === 'string') {
        if (value !== '') out += `\toption ${name} ${quoteUci(value)}\n`;
      } else if (value !== undefined) {
        for (const item of value) out += `\tlist ${name} ${quoteUci(item)}\n`;
      }
    }
  }
  return `${out}\n`;
}
