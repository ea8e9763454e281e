/**
 * Message bodies by group: session (open, accept, close, keepalive, status), interfaces,
 * gates (request, decisions, reports, delete, sync), fleet (command, result), enrol (a router
 * asking to join the fleet), config (its settings as numbered versions), cc (the session API for call control) and ch (authorization and
 * usage with the clearinghouse).
 */
export * from './session.ts';
export * from './interfaces.ts';
export * from './gates.ts';
export * from './fleet.ts';
export * from './enrol.ts';
export * from './config.ts';
export * from './cc.ts';
export * from './ch.ts';
