/**
 * The router's hardware id for enrolment: one topic level (HARDWARE_ID) that stays the same
 * across a reflash, so that a reflashed router is recognised as the device it was.
 *
 * Rule (the first that gives an id wins):
 *  1. `mac-<12 hex>`: the numerically lowest MAC address among the board's Ethernet ports, read
 *     from /sys/class/net/<dev>/address for devices named eth*, lan* or wan* (OpenWrt's names
 *     for the SoC's Ethernet and the DSA switch ports; bridges, Wi-Fi, tunnels and VLAN devices
 *     such as eth0.2 are left out). Skipped: all-zero, broadcast and multicast addresses, locally
 *     administered ones (a MAC set in /etc/config/network or made up by a driver is usually
 *     one, and neither survives a reflash as such), and devices whose addr_assign_type says the
 *     address is random (1). These MACs come from the board's factory data (the label MAC or
 *     its neighbours), which a reflash does not touch.
 *  2. `serial-<text>`: /proc/device-tree/serial-number, when the board has one (some ARM boards
 *     and x86 firmware do), reduced to the id's characters. Second because on many boards the
 *     device tree's serial is missing, empty or a placeholder shared by every unit.
 *  3. none: the router cannot enrol (E_NO_HARDWARE_ID).
 */
import { HARDWARE_ID } from '../../protocol/messages/enrol.ts';

export interface NetDevice {
  /** Its name under /sys/class/net. */
  readonly name: string;
  /** The content of its `address` file, as read (may end with a newline). */
  readonly address: string;
  /** The content of its `addr_assign_type` file, '' when unknown. */
  readonly assignType: string;
}

const PORT_NAME = /^(eth|lan|wan)[0-9]*$/;
const MAC_TEXT = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
/** addr_assign_type NET_ADDR_RANDOM (include/uapi/linux/netdevice.h). */
const ADDR_RANDOM = '1';

/** The MAC as 12 lower-case hex digits if it may identify the board; undefined otherwise. */
export function usableMac(address: string): string | undefined {
  const text = address.trim().toLowerCase();
  if (!MAC_TEXT.test(text)) return undefined;
  const hex = text.replace(/:/g, '');
  const first = Number.parseInt(hex.slice(0, 2), 16);
  // Bit 0 of the first octet: group (multicast, broadcast); bit 1: locally administered.
  if ((first & 0x01) !== 0 || (first & 0x02) !== 0) return undefined;
  if (hex === '000000000000') return undefined;
  return hex;
}

/** The lowest usable MAC of the board's Ethernet ports, as 12 hex digits. */
export function boardMac(devices: readonly NetDevice[]): string | undefined {
  let best: string | undefined;
  for (const device of devices) {
    if (!PORT_NAME.test(device.name)) continue;
    if (device.assignType.trim() === ADDR_RANDOM) continue;
    const mac = usableMac(device.address);
    // Same length, same alphabet: text order is numeric order.
    if (mac !== undefined && (best === undefined || mac < best)) best = mac;
  }
  return best;
}

/** The device tree's serial (NUL-terminated in the file) as an id suffix; undefined if unusable. */
export function serialSuffix(serial: string): string | undefined {
  const cleaned = serial.replace(/\0/g, '').trim().replace(/[^A-Za-z0-9_.-]/g, '');
  // A placeholder of one repeated character (000000, ffffffff) names no board.
  if (cleaned.length < 4 || /^(.)\1*$/.test(cleaned)) return undefined;
  const id = `serial-${cleaned.slice(0, 57)}`;
  return HARDWARE_ID.test(id) ? id : undefined;
}

/** The hardware id by the rule above, or undefined when neither a MAC nor a serial gives one. */
export function hardwareIdOf(devices: readonly NetDevice[], serial: string): string | undefined {
  const mac = boardMac(devices);
  if (mac !== undefined) return `mac-${mac}`;
  return serialSuffix(serial);
}
