/**
 * The in-memory form of a UCI package: what `uci show` would list, in file order.
 */

/** One `config` section. Option keys are in an object without a prototype: `__proto__` is a valid UCI name. */
export interface UciSection {
  type: string;
  /** The section's name, or `@<type>[<index>]` for an anonymous one (uci's extended syntax). */
  name: string;
  anonymous: boolean;
  /** Position among the sections of this type, named or not (the `N` of `@type[N]`). */
  index: number;
  options: Record<string, string | string[]>;
}

export interface UciPackage {
  package?: string;
  sections: UciSection[];
}

/** uci's rule for section and option names (libuci util.c, uci_validate_name). */
export const UCI_NAME = /^[A-Za-z0-9_]+$/;
/** Package names also allow `-` (uci_validate_package). */
export const UCI_PACKAGE_NAME = /^[A-Za-z0-9_-]+$/;
/** Section types are any printable ASCII without spaces (uci_validate_type): `wifi-iface`. */
export const UCI_TYPE = /^[\x21-\x7e]+$/;

export function anonymousName(type: string, index: number): string {
  return `@${type}[${index}]`;
}

/** An options object that `__proto__` or `constructor` cannot confuse. */
export function emptyOptions(): Record<string, string | string[]> {
  return Object.create(null) as Record<string, string | string[]>;
}

export function hasOption(options: Record<string, unknown>, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(options, name);
}
