/**
 * Message bodies by group: session (open, accept, close, keepalive, status), interfaces,
 * gates (request, decisions, reports, delete, sync) and fleet (command, result).
 */
export * from './session.ts';
export * from './interfaces.ts';
export * from './gates.ts';
export * from './fleet.ts';
