/**
 * ubus: what the agent reads from OpenWrt's system bus, as pure parsers over the JSON the `ubus`
 * CLI prints (the calls themselves are src/agent/system/). dump.ts: `network.interface dump`;
 * board.ts: `system board`; events.ts: `ubus listen` lines; report.ts: the `interfaces` message
 * body built from a dump; read.ts: lenient readers and the E_UBUS_* codes.
 */
export { parseInterfaceDump, MAX_DUMP_INTERFACES } from './dump.ts';
export type { InterfaceDump, NetifdAddress, NetifdAssignment, NetifdInterface, NetifdPrefix } from './dump.ts';
export { parseBoard } from './board.ts';
export type { BoardInfo, BoardRelease } from './board.ts';
export { parseListenLine } from './events.ts';
export type { InterfaceAction, InterfaceEvent } from './events.ts';
export { buildInterfaceReport, isRelevantEvent, roleOf, sameReport } from './report.ts';
export type { InterfaceRole, InterfaceRoles } from './report.ts';
export { UbusCode } from './read.ts';
