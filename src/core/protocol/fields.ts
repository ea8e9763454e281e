/**
 * fields: the field types messages are made of (ids, counters, ports, DSCP, addresses).
 * Addresses come out in RFC 5952 canonical text, so equal addresses are equal strings.
 */
import { ok, type CoreError } from '../result.ts';
import { formatIp, hostBitsZero, isMulticast, isUnspecified, parseIp, type IpFamily } from '../net/ip.ts';
import { Code, MAX_SAFE, failAt, typeName, int, keyPath, obj, oneOf, refine, str, type Schema } from './schema.ts';
import { SESSION_REF_MAX } from './limits.ts';

export { MAX_SAFE };

/** Router or service id; also safe as an MQTT topic level and a file name. */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Message, gate and handle ids: unique keys, safe in nft comments and logs. */
export const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export const deviceId = str({ min: 1, max: 64, pattern: DEVICE_ID, format: 'device id' });
export const messageId = str({ min: 1, max: 64, pattern: MESSAGE_ID, format: 'message id' });
export const gateId = str({ min: 1, max: 64, pattern: MESSAGE_ID, format: 'gate id' });
/** A call or session reference from call control (a SIP Call-ID is up to this long in practice). */
export const sessionRef = str({ min: 1, max: SESSION_REF_MAX, pattern: /^[\x21-\x7e]+$/, format: 'session reference (printable ASCII)' });
/** A stable error code such as `E_APPLY`. */
export const errorCode = str({ min: 3, max: 32, pattern: /^E_[A-Z0-9_]+$/, format: 'error code (E_UPPER_CASE)' });
export const agentVersion = str({ min: 1, max: 32, pattern: /^[0-9A-Za-z][0-9A-Za-z.+~_-]*$/, format: 'version string' });

/** Free text for people; bounded like everything else. */
export function text(max: number, min = 0): Schema<string> {
  return str({ min, max });
}

export const timestamp = int({ min: 0, max: MAX_SAFE });
export const counter = int({ min: 0, max: MAX_SAFE });
/** Desired-state version: raised by the server on every change, echoed by the device. */
export const stateVersion = int({ min: 0, max: MAX_SAFE });
export const udpPort = int({ min: 1, max: 65535 });
export const keepaliveS = int({ min: 5, max: 3600 });

/** DiffServ code points by name (RFC 2474, 2597, 3246, 5865, 8622). */
export const DSCP = {
  CS0: 0, LE: 1, CS1: 8, AF11: 10, AF12: 12, AF13: 14, CS2: 16, AF21: 18, AF22: 20, AF23: 22,
  CS3: 24, AF31: 26, AF32: 28, AF33: 30, CS4: 32, AF41: 34, AF42: 36, AF43: 38, CS5: 40,
  VA: 44, EF: 46, CS6: 48, CS7: 56,
} as const;
export type DscpName = keyof typeof DSCP;

/** The classes a gate may give a flow: EF for voice, AF41 for video, CS5 for signalling. */
export const GATE_DSCP = [DSCP.EF, DSCP.AF41, DSCP.CS5] as const;
export type GateDscp = (typeof GATE_DSCP)[number];
export const gateDscp = oneOf(GATE_DSCP);

export function dscpName(value: number): DscpName | undefined {
  for (const name of Object.keys(DSCP) as DscpName[]) if (DSCP[name] === value) return name;
  return undefined;
}

export function dscpValue(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(DSCP, name) ? DSCP[name as DscpName] : undefined;
}

// ---- addresses -----------------------------------------------------------------------------

export interface AddressOptions {
  /** Refuse the unspecified address, multicast and 255.255.255.255: what a host can hold. */
  readonly host?: boolean;
}

/** An IPv4 or IPv6 address, returned in canonical text. */
export function ipAddress(options: AddressOptions = {}): Schema<string> {
  return {
    check(input, path) {
      if (typeof input !== 'string') return failAt(Code.TYPE, `expected an address string, got ${typeName(input)}`, path);
      const r = parseIp(input);
      if (!r.ok) return failAt(Code.FORMAT, `not an IP address: ${r.error.message}`, path);
      const a = r.value;
      if (options.host === true) {
        if (isUnspecified(a)) return failAt(Code.FORMAT, 'the unspecified address is not a host', path);
        if (isMulticast(a)) return failAt(Code.FORMAT, 'a multicast address is not a host', path);
        if (a.family === 4 && a.bytes.every((x) => x === 255)) return failAt(Code.FORMAT, 'the broadcast address is not a host', path);
      }
      return ok(formatIp(a));
    },
  };
}

export const hostAddress = ipAddress({ host: true });
export const anyAddress = ipAddress();

/** Family of an address this module validated (canonical text). */
export function familyOf(address: string): IpFamily {
  return address.indexOf(':') === -1 ? 4 : 6;
}

export function familyError(address: string, want: IpFamily, path: string): CoreError | undefined {
  return familyOf(address) === want ? undefined : { code: Code.FAMILY, message: `expected an IPv${want} address`, path };
}

/**
 * `{address, prefixLength}` for one family. An interface address keeps its host bits
 * (192.168.1.1/24); a `network` prefix must not have any (2001:db8:1::/48).
 */
export function prefixed(family: IpFamily, kind: 'interface' | 'network') {
  const bits = family === 4 ? 32 : 128;
  return refine(obj({ address: kind === 'interface' ? hostAddress : anyAddress, prefixLength: int({ min: 0, max: 128 }) }), (v, path) => {
    const at = (k: string): string => keyPath(path, k);
    const wrongFamily = familyError(v.address, family, at('address'));
    if (wrongFamily !== undefined) return wrongFamily;
    if (v.prefixLength > bits) return { code: Code.RANGE, message: `${v.prefixLength} is outside 0..${bits}`, path: at('prefixLength') };
    if (kind === 'network') {
      const parsed = parseIp(v.address);
      if (parsed.ok && !hostBitsZero(parsed.value.bytes, v.prefixLength)) {
        return { code: Code.FORMAT, message: 'a prefix has no bits set after its length', path: at('address') };
      }
    }
    return undefined;
  });
}
