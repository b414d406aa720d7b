import type pg from 'pg';

export interface Migration {
  version: number;
  sql: string;
}

/**
 * The schema, as ordered steps. Never edit a released step: add the next one. Times are
 * timestamptz; jobs.seq orders jobs created in the same instant.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE secrets (
        owner text NOT NULL,
        key text NOT NULL,
        ciphertext text NOT NULL,
        key_id text NOT NULL,
        size integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (owner, key)
      );
      CREATE TABLE jobs (
        id text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        owner text NOT NULL,
        spec jsonb NOT NULL,
        state text NOT NULL,
        exit_code integer,
        pilot text,
        claim_id text,
        log text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE TABLE audit (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        key text,
        job_id text
      );
      CREATE TABLE meta (
        name text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      ALTER TABLE audit ADD COLUMN remote text;
      CREATE INDEX jobs_queued ON jobs (created_at, seq) WHERE state = 'queued';
      CREATE INDEX audit_actor ON audit (actor, id);
      CREATE INDEX audit_job ON audit (job_id, id);
    `,
  },
  {
    version: 3,
    // Each write gives its row a fresh revision; key rotation rewrites a row only at the revision it read.
    sql: `ALTER TABLE secrets ADD COLUMN revision text NOT NULL DEFAULT '';`,
  },
];

/** Key of the advisory lock that serializes migrations across every instance sharing the database. */
const MIGRATION_LOCK_KEY = 0x70616e6461; // "panda"

/** Runs `fn` between BEGIN and COMMIT on `client`, rolling back when it throws. */
export async function inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // The connection may be gone: the original error is the one worth reporting.
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Applies the migrations the database lacks, in one transaction under an advisory lock, so two
 * instances starting at once apply each step exactly once. Returns the versions applied.
 */
export function applyMigrations(client: pg.ClientBase, migrations: readonly Migration[]): Promise<number[]> {
  return inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const present = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (present.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
      applied.push(migration.version);
    }
    return applied;
  });
}
