/**
 * Value types for config options: UCI text in, a typed value or a problem sentence out.
 * The names follow OpenWrt's datatypes (procd validate, firewall4) where there is one.
 */
import { fail, ok, type Failure, type Result } from '../result.ts';
import { formatIp, hostBitsZero, isMulticast, isUnspecified, parseIp } from '../net/ip.ts';
import { DEVICE_ID, DSCP, GATE_DSCP, dscpName } from '../protocol/fields.ts';

export interface ValueType<T> {
  /** What a valid value looks like, for warnings: `a port (1..65535)`. */
  readonly expected: string;
  parse(text: string): Result<T, string>;
  /** The value as it would be written in the file, for messages; String(value) when absent. */
  format?(value: T): string;
}

/** `invalid` is the failure that says what was expected; parsers return it or a sharper one. */
function valueType<T>(expected: string, parse: (text: string, invalid: Failure<string>) => Result<T, string>): ValueType<T> {
  const invalid = fail(`expected ${expected}`);
  return { expected, parse: (t) => parse(t, invalid) };
}

/** Any text, or text matching `pattern` (described by `what`). */
export function text(pattern?: RegExp, what = 'text'): ValueType<string> {
  return valueType(what, (t, invalid) => (pattern === undefined || pattern.test(t) ? ok(t) : invalid));
}

// OpenWrt's shell (config_get_bool) and procd's validate compare these exactly, so "Yes" is
// refused here too: the init script and the agent must never read one file differently.
const TRUE = ['1', 'yes', 'on', 'true', 'enabled'];
const FALSE = ['0', 'no', 'off', 'false', 'disabled'];

export const bool: ValueType<boolean> = valueType('a boolean (1/0, yes/no, on/off, true/false, enabled/disabled)', (t, invalid) =>
  TRUE.includes(t) ? ok(true) : FALSE.includes(t) ? ok(false) : invalid,
);

/** Decimal digits only: no sign, no leading zeros (`010` is octal to some readers), no exponent. */
function decimal(t: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,14})$/.test(t)) return undefined;
  return Number(t);
}

export function uint(min = 0, max = Number.MAX_SAFE_INTEGER): ValueType<number> {
  return valueType(`a whole number ${min}..${max}`, (t, invalid) => {
    const n = decimal(t);
    if (n === undefined) return invalid;
    return n >= min && n <= max ? ok(n) : fail(`${n} is outside ${min}..${max}`);
  });
}

export const port: ValueType<number> = uint(1, 65535);

/** One of `values`, matched exactly (UCI values are case-sensitive, as in firewall4's enums). */
export function oneOf<const V extends readonly string[]>(values: V): ValueType<V[number]> {
  return valueType(`one of ${values.join(', ')}`, (t, invalid) => (values.includes(t) ? ok(t as V[number]) : invalid));
}

export interface AddressOptions {
  /** Refuse what no host can hold: the unspecified address, multicast, 255.255.255.255. */
  readonly host?: boolean;
}

/** An IPv4 or IPv6 literal, returned in canonical text (RFC 5952 for IPv6). */
export function ipaddr(options: AddressOptions = {}): ValueType<string> {
  return valueType(options.host === true ? 'a host IP address' : 'an IP address', (t) => {
    const r = parseIp(t);
    if (!r.ok) return fail(`not an IP address: ${r.error.message}`);
    const a = r.value;
    if (options.host === true) {
      if (isUnspecified(a)) return fail('the unspecified address is not a host');
      if (isMulticast(a)) return fail('a multicast address is not a host');
      if (a.family === 4 && a.bytes.every((b) => b === 255)) return fail('the broadcast address is not a host');
    }
    return ok(formatIp(a));
  });
}

export interface Cidr {
  readonly address: string;
  readonly prefixLength: number;
}

/** `address/length`. A `network` prefix has no host bits set; an interface address may (192.168.1.1/24). */
export function cidr(options: { network?: boolean } = {}): ValueType<Cidr> {
  return valueType(options.network === true ? 'a network prefix (address/length)' : 'an address/length', (t, invalid) => {
    const slash = t.indexOf('/');
    if (slash === -1) return invalid;
    const r = parseIp(t.slice(0, slash));
    if (!r.ok) return fail(`not an IP address: ${r.error.message}`);
    const bits = r.value.family === 4 ? 32 : 128;
    const length = decimal(t.slice(slash + 1));
    if (length === undefined || length > bits) return fail(`the prefix length must be 0..${bits}`);
    if (options.network === true && !hostBitsZero(r.value.bytes, length)) return fail('a network prefix has no bits set after its length');
    return ok({ address: formatIp(r.value), prefixLength: length });
  });
}

/**
 * A DiffServ code point by name or number, case-insensitive, from `allowed` (by default the
 * classes a gate may give: EF 46, AF41 34, CS5 40). Returns the number.
 */
export function dscp(allowed: readonly number[] = GATE_DSCP): ValueType<number> {
  const names = allowed.map((v) => `${dscpName(v) ?? v} (${v})`).join(', ');
  return valueType(`a DSCP: ${names}`, (t, invalid) => {
    const upper = t.toUpperCase();
    const n = Object.prototype.hasOwnProperty.call(DSCP, upper) ? DSCP[upper as keyof typeof DSCP] : decimal(t);
    return n !== undefined && allowed.includes(n) ? ok(n) : invalid;
  });
}

/** A Linux netdev or UCI interface name: at most IFNAMSIZ-1 characters, never `.` or `..`. */
export const ifname: ValueType<string> = valueType('an interface name ([A-Za-z0-9_.-], 1..15 characters)', (t, invalid) =>
  /^[A-Za-z0-9_.-]{1,15}$/.test(t) && t !== '.' && t !== '..' ? ok(t) : invalid,
);

/** The protocol's device id: also an MQTT topic level and a file name. */
export const deviceId: ValueType<string> = text(DEVICE_ID, 'a device id ([A-Za-z0-9][A-Za-z0-9_.-], 1..64 characters)');

/** Where a 32-bit value's lowest set bit is, how many bits are set, and whether they touch. */
function bitRun(mask: number): { shift: number; bits: number; contiguous: boolean } {
  let shift = 0;
  while (shift < 32 && ((mask >>> shift) & 1) === 0) shift++;
  const run = mask >>> shift;
  let bits = 0;
  for (let v = run; v !== 0; v >>>= 1) bits += v & 1;
  return { shift, bits, contiguous: (run & (run + 1)) === 0 };
}

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/** A 32-bit mask written in hex (`0x003f0000`) whose set bits are one run of `minBits..maxBits`. */
export function bitmask(minBits: number, maxBits: number): ValueType<number> {
  const expected = `a hex mask like 0x003f0000 with ${minBits}..${maxBits} contiguous bits set`;
  return {
    expected,
    format: hex32,
    parse(t) {
      if (!/^0[xX][0-9a-fA-F]{1,8}$/.test(t)) return fail(`expected ${expected}`);
      const mask = parseInt(t.slice(2), 16) >>> 0;
      const run = bitRun(mask);
      if (mask === 0) return fail('no bits set');
      if (!run.contiguous) return fail('the set bits must be one contiguous run');
      if (run.bits < minBits || run.bits > maxBits) return fail(`${run.bits} bits set, expected ${minBits}..${maxBits}`);
      return ok(mask);
    },
  };
}
