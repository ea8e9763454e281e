/** Opens the clearinghouse store a URL names, as the QoS server's store does: sqlite:<file>, sqlite::memory:, postgres://… */
import { storeLocation } from '../../store/url.ts';
import { PostgresClearinghouseStore } from './postgres.ts';
import { SqliteClearinghouseStore } from './sqlite.ts';
import type { ClearinghouseStore } from './types.ts';

export type { Cdr, CdrFilter, CdrSide, ClearinghouseStore, FlowUsage, Transaction } from './types.ts';

export function openClearinghouseStore(url: string): ClearinghouseStore {
  const where = storeLocation(url);
  return where.kind === 'sqlite' ? new SqliteClearinghouseStore(where.path) : new PostgresClearinghouseStore(where.url);
}
