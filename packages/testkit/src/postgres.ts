import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server the tests use: PANDA_TEST_PG_URL, else the local one with trust auth. */
export const TEST_PG_ADMIN_URL = process.env.PANDA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** Connection URL of the fresh database. */
  url: string;
  /** Drops the database (terminating any connection left to it). */
  drop(): Promise<void>;
}

let announcedSkip = false;

function withDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Creates a fresh, uniquely named database for one test file. When PostgreSQL cannot be reached it
 * throws under CI (where PostgreSQL must be there) and otherwise returns null after saying once,
 * in one line, that the PostgreSQL tests are skipped and why.
 */
export async function createTestDatabase(prefix = 'panda_test'): Promise<TestDatabase | null> {
  const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    const reason = `PostgreSQL at ${TEST_PG_ADMIN_URL} is unreachable (${(error as Error).message})`;
    if (process.env.CI) throw new Error(`${reason}; CI needs it for the PostgreSQL tests`, { cause: error });
    if (!announcedSkip) {
      announcedSkip = true;
      process.stderr.write(`PostgreSQL tests skipped: ${reason}; set PANDA_TEST_PG_URL to run them\n`);
    }
    await admin.end().catch(() => undefined);
    return null;
  }
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(TEST_PG_ADMIN_URL, name),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
