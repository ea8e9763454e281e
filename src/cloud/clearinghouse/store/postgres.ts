/**
 * The clearinghouse store on PostgreSQL, for several clearinghouse instances on one database.
 * Each write is one statement; a CDR's uniqueness is its primary key, so two instances receiving
 * the same usage indication at once record it once.
 */
import pg from 'pg';
import { CDR_COLUMNS, cdrOf, cdrValues, schema, TRANSACTION_COLUMNS, transactionOf, transactionValues } from './rows.ts';
import type { Cdr, CdrFilter, CdrSide, ClearinghouseStore, Transaction } from './types.ts';
import { conflict, MIGRATIONS_TABLE } from './errors.ts';

/** Advisory lock for migrations: instances starting together migrate once. */
const MIGRATION_LOCK = 0x63716f75;
const marks = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');

export class PostgresClearinghouseStore implements ClearinghouseStore {
  readonly backend = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 10 });
    this.pool.on('error', () => undefined);
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)`);
      if ((await client.query(`SELECT 1 FROM ${MIGRATIONS_TABLE} WHERE version = 1`)).rowCount === 0) {
        await client.query(schema('JSONB', 'BIGINT'));
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} VALUES (1, $1)`, [Date.now()]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async putTransaction(t: Transaction): Promise<void> {
    const r = await this.pool.query(
      `INSERT INTO ch_transactions (${TRANSACTION_COLUMNS.join(', ')}) VALUES (${marks(TRANSACTION_COLUMNS.length)}) ON CONFLICT DO NOTHING`,
      transactionValues(t),
    );
    if ((r.rowCount ?? 0) === 0) throw conflict(`transaction ${t.id} exists`);
  }

  async getTransaction(id: string): Promise<Transaction | null> {
    const r = (await this.pool.query('SELECT * FROM ch_transactions WHERE id = $1', [id])).rows[0];
    return r ? transactionOf(r) : null;
  }

  async insertCdr(cdr: Cdr): Promise<boolean> {
    const r = await this.pool.query(`INSERT INTO ch_cdrs (${CDR_COLUMNS.join(', ')}) VALUES (${marks(CDR_COLUMNS.length)}) ON CONFLICT DO NOTHING`, cdrValues(cdr));
    return (r.rowCount ?? 0) > 0;
  }

  async getCdr(transactionId: string, side: CdrSide = 'source'): Promise<Cdr | null> {
    const r = (await this.pool.query('SELECT * FROM ch_cdrs WHERE transaction_id = $1 AND side = $2', [transactionId, side])).rows[0];
    return r ? cdrOf(r) : null;
  }

  async listCdrs(filter: CdrFilter = {}): Promise<Cdr[]> {
    const r = await this.pool.query(
      'SELECT * FROM ch_cdrs WHERE end_ms >= $1 AND end_ms < $2 AND ($3::text IS NULL OR domain = $3) ORDER BY end_ms, transaction_id, side',
      [filter.endFromMs ?? 0, filter.endToMs ?? Number.MAX_SAFE_INTEGER, filter.domain ?? null],
    );
    return r.rows.map(cdrOf);
  }
}
