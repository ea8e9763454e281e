/**
 * The agent's view of the OpenWrt system through the `ubus` CLI: calls (ubus.ts), the interface
 * event stream (ubus-listen.ts) and the interface report kept current from both
 * (interface-watcher.ts).
 */
export { ubusCall, readInterfaces, readBoard, UBUS_CALL_TIMEOUT_MS } from './ubus.ts';
export type { UbusCallOptions, UbusError } from './ubus.ts';
export { followInterfaceEvents, LISTEN_ARGV } from './ubus-listen.ts';
export type { EventFollower, FollowOptions } from './ubus-listen.ts';
export { InterfaceWatcher, DEBOUNCE_MS, POLL_MS } from './interface-watcher.ts';
export type { InterfaceWatcherOptions } from './interface-watcher.ts';
