/**
 * A PostgreSQL database of a test's own, on the server the machine runs (127.0.0.1:5432, trust
 * auth) or the one CALLQOS_TEST_POSTGRES names (a URL of its maintenance database): created with
 * a unique name, dropped with whatever still uses it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

const ADMIN_URL = process.env.CALLQOS_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL} (${(err as Error).message}); the PostgreSQL tests need it (set CALLQOS_TEST_POSTGRES to another server)`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(purpose: string): Promise<TestDatabase> {
  // Only [a-z0-9_]: the name is part of the statement (identifiers cannot be parameters).
  const name = `callqos_test_${purpose}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
