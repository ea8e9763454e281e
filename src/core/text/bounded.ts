/**
 * Texts that fit a field by construction. Every free text a message carries has a bound (the
 * schemas count UTF-16 code units and refuse lone surrogates, which cannot be sent as UTF-8), so
 * a sender that builds one from parts it does not control (addresses, router ids, another
 * party's message) cuts it here instead of hoping: a text that does not fit would make the whole
 * message fail to build, and its reply would never go out.
 */

/** Marks a text that was cut, so that a reader knows there was more. */
export const CUT_MARK = '…';

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** `text` with every lone surrogate replaced by U+FFFD, as a UTF-8 encoder would. */
export function wellFormed(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isHigh(c) && i + 1 < text.length && isLow(text.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    if (isHigh(c) || isLow(c)) {
      out += `${text.slice(from, i)}\ufffd`;
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * At most `max` UTF-16 code units of `text`, well formed: a longer text is cut at a character
 * boundary (a surrogate pair is kept whole or left out) and ends with CUT_MARK, within `max`.
 */
export function bounded(text: string, max: number): string {
  const whole = wellFormed(text);
  if (whole.length <= max) return whole;
  if (max <= 0) return '';
  if (max < CUT_MARK.length) return cutAt(whole, max);
  return cutAt(whole, max - CUT_MARK.length) + CUT_MARK;
}

/** The longest prefix of a well-formed `text` of at most `length` units that does not split a pair. */
function cutAt(text: string, length: number): string {
  const end = length > 0 && isHigh(text.charCodeAt(length - 1)) ? length - 1 : length;
  return text.slice(0, end);
}

/**
 * `<code>: <detail>` in at most `max` units: the stable code a program matches on stays whole,
 * the detail for people is cut when it must be.
 */
export function codedText(code: string, detail: string, max: number): string {
  return bounded(detail === '' ? code : `${code}: ${detail}`, max);
}
