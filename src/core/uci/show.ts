/** Text from a config file, quoted and cut short for a message: it may hold newlines or be huge. */
export function showText(text: string, max = 48): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
