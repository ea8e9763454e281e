/** What both clearinghouse backends share besides rows: the migrations table and the conflict error. */
export const MIGRATIONS_TABLE = 'ch_migrations';

/** An error with a stable code, matched by code (the store may be another copy of this module). */
export function conflict(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: 'E_CONFLICT' });
}
