import { describe, expect, it } from 'vitest';
import { HARDWARE_ID } from '../../protocol/messages/enrol.ts';
import { boardMac, hardwareIdOf, serialSuffix, usableMac, type NetDevice } from './hardware-id.ts';

const dev = (name: string, address: string, assignType = '0'): NetDevice => ({ name, address: `${address}\n`, assignType: `${assignType}\n` });

describe('hardware id: which MAC identifies the board', () => {
  it('takes a universally administered unicast MAC, in lower case without colons', () => {
    expect(usableMac('9C:53:22:0A:0B:0C\n')).toBe('9c53220a0b0c');
  });

  it('refuses zero, broadcast, multicast, locally administered and malformed addresses', () => {
    for (const address of ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '02:42:ac:11:00:02', 'de:ad:be:ef:00:01', '9c:53:22:0a:0b', '9c-53-22-0a-0b-0c', '']) {
      expect(usableMac(address), address).toBeUndefined();
    }
  });

  it('picks the lowest MAC of eth*, lan* and wan* devices, ignoring bridges, Wi-Fi, VLANs and random addresses', () => {
    const devices = [
      dev('br-lan', '00:00:01:00:00:01'),
      dev('wlan0', '00:00:02:00:00:01'),
      dev('eth0.2', '00:00:03:00:00:01'),
      dev('lan2', '00:00:04:00:00:01', '1'),
      dev('wan', '9c:53:22:0a:0b:0d'),
      dev('lan1', '9c:53:22:0a:0b:0c'),
      dev('eth0', '9c:53:22:0a:0b:0e'),
      dev('lo', '00:00:00:00:00:00'),
    ];
    expect(boardMac(devices)).toBe('9c53220a0b0c');
    expect(boardMac([...devices].reverse())).toBe('9c53220a0b0c');
  });

  it('builds mac-<hex> when there is a MAC, whatever the serial, and it is one valid topic level', () => {
    const id = hardwareIdOf([dev('eth0', '9c:53:22:0a:0b:0c')], 'ABC123\0');
    expect(id).toBe('mac-9c53220a0b0c');
    expect(HARDWARE_ID.test(id!)).toBe(true);
  });

  it('falls back to the device-tree serial, cleaned, when no MAC is usable', () => {
    expect(hardwareIdOf([dev('eth0', '02:00:00:00:00:01')], 'SN 1234/5678\0')).toBe('serial-SN12345678');
    expect(serialSuffix('00000000\0')).toBeUndefined();
    expect(serialSuffix('ab\0')).toBeUndefined();
    expect(serialSuffix('X'.repeat(3) + 'Y'.repeat(100))!.length).toBe(64);
  });

  it('gives no id when neither a MAC nor a serial is usable', () => {
    expect(hardwareIdOf([], '')).toBeUndefined();
    expect(hardwareIdOf([dev('wlan0', '9c:53:22:0a:0b:0c')], '')).toBeUndefined();
  });
});
