/** The clearinghouse store on SQLite (one file, WAL): the embedded default. */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { CDR_COLUMNS, cdrOf, cdrValues, schema, TRANSACTION_COLUMNS, transactionOf, transactionValues, type Row } from './rows.ts';
import type { Cdr, CdrFilter, CdrSide, ClearinghouseStore, Transaction } from './types.ts';
import { conflict, MIGRATIONS_TABLE } from './errors.ts';

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

export class SqliteClearinghouseStore implements ClearinghouseStore {
  readonly backend = 'sqlite' as const;
  private readonly db: Db;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
  }

  async migrate(): Promise<void> {
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)`);
    this.db.transaction(() => {
      if (this.db.prepare(`SELECT 1 FROM ${MIGRATIONS_TABLE} WHERE version = 1`).get()) return;
      this.db.exec(schema('TEXT', 'INTEGER'));
      this.db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} VALUES (1, ?)`).run(Date.now());
    }).immediate();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async putTransaction(t: Transaction): Promise<void> {
    const sql = `INSERT INTO ch_transactions (${TRANSACTION_COLUMNS.join(', ')}) VALUES (${marks(TRANSACTION_COLUMNS.length)}) ON CONFLICT DO NOTHING`;
    if (this.db.prepare(sql).run(...transactionValues(t)).changes === 0) throw conflict(`transaction ${t.id} exists`);
  }

  async getTransaction(id: string): Promise<Transaction | null> {
    const r = this.db.prepare('SELECT * FROM ch_transactions WHERE id = ?').get(id) as Row | undefined;
    return r ? transactionOf(r) : null;
  }

  async insertCdr(cdr: Cdr): Promise<boolean> {
    const sql = `INSERT INTO ch_cdrs (${CDR_COLUMNS.join(', ')}) VALUES (${marks(CDR_COLUMNS.length)}) ON CONFLICT DO NOTHING`;
    return this.db.prepare(sql).run(...cdrValues(cdr)).changes > 0;
  }

  async getCdr(transactionId: string, side: CdrSide = 'source'): Promise<Cdr | null> {
    const r = this.db.prepare('SELECT * FROM ch_cdrs WHERE transaction_id = ? AND side = ?').get(transactionId, side) as Row | undefined;
    return r ? cdrOf(r) : null;
  }

  async listCdrs(filter: CdrFilter = {}): Promise<Cdr[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM ch_cdrs WHERE end_ms >= ? AND end_ms < ? AND (? IS NULL OR domain = ?) ORDER BY end_ms, transaction_id, side`,
      )
      .all(filter.endFromMs ?? 0, filter.endToMs ?? Number.MAX_SAFE_INTEGER, filter.domain ?? null, filter.domain ?? null) as Row[];
    return rows.map(cdrOf);
  }
}
