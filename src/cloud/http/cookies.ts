/** The session cookie: read from the Cookie header, written with the attributes a session cookie needs. */

/** The value of cookie `name` in a Cookie header; undefined when absent or malformed. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? value : undefined;
  }
  return undefined;
}

export interface CookieOptions {
  readonly maxAgeS: number;
  /** Only over TLS (the request came over https, or the server is told it sits behind TLS). */
  readonly secure: boolean;
}

/** HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Path=/. */
export function sessionCookie(name: string, value: string, options: CookieOptions): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(options.maxAgeS))}${options.secure ? '; Secure' : ''}`;
}

export function clearedCookie(name: string, secure: boolean): string {
  return sessionCookie(name, '', { maxAgeS: 0, secure });
}
