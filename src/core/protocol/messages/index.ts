/**
 * Message bodies by group: session (open, accept, close, keepalive, status), interfaces,
 * gates (request, decisions, reports, delete, sync), fleet (command, result) and cc (the session
 * API for call control).
 */
export * from './session.ts';
export * from './interfaces.ts';
export * from './gates.ts';
export * from './fleet.ts';
export * from './cc.ts';
