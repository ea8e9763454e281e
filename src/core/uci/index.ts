/**
 * uci: OpenWrt's config file format (/etc/config/*), read and written without the `uci` tool.
 *
 *   parseUci(text)                  text -> Result<UciPackage>   (E_UCI_SYNTAX with `line N`)
 *   renderUci(sections, package?)   sections -> text, as `uci export` writes it
 *
 * parse.ts follows libuci's file.c rules; render.ts its export layout; section.ts holds the
 * model and uci's name rules. Typing and validation of values is ../config's job.
 */
export { parseUci, UCI_SYNTAX } from './parse.ts';
export { quoteUci, renderUci } from './render.ts';
export { showText } from './show.ts';
export { anonymousName, hasOption, UCI_NAME, UCI_PACKAGE_NAME, UCI_TYPE, type UciPackage, type UciSection } from './section.ts';
