import pg from 'pg';
import { toAudit, toJob, toSecret } from './rows.js';
import type { AuditColumns, JobColumns, SecretColumns } from './rows.js';
import { POSTGRES_MIGRATIONS, applyMigrations, inTransaction } from './postgres-migrations.js';
import {
  assertJobUpdatable,
  assertBatchWithinQuota,
  claimCount,
  deletionCandidates,
  fitLogChunk,
  resolveClock,
  newRevision,
  storeError,
  withStoreErrors,
} from './rules.js';
import type { JobOwnership, StoreClock, StoreMethods } from './rules.js';
import type { AuditInput, Store } from './types.js';

export interface PostgresStoreOptions extends StoreClock {
  /** `postgres://user[:password]@host[:port]/database[?options]` */
  url: string;
  /** Connections in the pool; default 10. */
  poolSize?: number;
  /**
   * How long one query may take before it fails as UNAVAILABLE; default 10 s. A network that drops
   * packets silently would otherwise hold a request until TCP keepalive gives up, minutes later.
   */
  queryTimeoutMs?: number;
}

/** Fail fast when the server is down rather than leaving a request hanging. */
const CONNECT_TIMEOUT_MS = 2000;
const QUERY_TIMEOUT_MS = 10_000;

/** Namespace of the per-owner advisory locks (the two-key form, apart from the migration lock). */
export const OWNER_LOCK_NAMESPACE = 0x70616e64;

/** Network and server-side reasons a database is out of reach, in a few words. */
const LOST_CONNECTION_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection lost',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  '57P01': 'the server was shut down',
  '57P02': 'the server crashed',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'too many connections',
};

/** pg reports some lost connections by message only. */
const LOST_CONNECTION_MESSAGES: ReadonlyArray<[RegExp, string]> = [
  [/connection timeout|timeout exceeded when trying to connect/i, 'connection timed out'],
  [/connection terminated/i, 'connection terminated'],
  [/not queryable/i, 'connection lost'],
  [/query read timeout/i, 'no answer within the query timeout'],
];

/**
 * The reason a lost database is given, naming the server (host and port only: the URL may hold a
 * password), so a message says which database could not be reached.
 */
function unavailableAt(url: string): (error: unknown) => string | null {
  const { hostname, port } = new URL(url);
  const where = `PostgreSQL at ${hostname || 'localhost'}:${port || '5432'}`;
  return (error) => {
    const reason = pgUnavailableReason(error);
    return reason === null ? null : `${reason} (${where})`;
  };
}

function pgUnavailableReason(error: unknown): string | null {
  if (error instanceof AggregateError && error.errors.length > 0) return pgUnavailableReason(error.errors[0]);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    const reason = LOST_CONNECTION_REASONS[code];
    if (reason !== undefined) return reason;
    // SQLSTATE class 08: connection exception.
    if (code.startsWith('08')) return `connection failure (${code})`;
  }
  const message = error instanceof Error ? error.message : '';
  return LOST_CONNECTION_MESSAGES.find(([pattern]) => pattern.test(message))?.[1] ?? null;
}

function createPool(url: string, size: number, queryTimeoutMs = QUERY_TIMEOUT_MS): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: size,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: queryTimeoutMs,
    keepAlive: true,
  });
  // An idle client whose connection dies is already dropped by the pool; the next query opens a
  // new one and reports UNAVAILABLE if the server is still gone. Unhandled, the event would crash
  // the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` on a pooled client; a client whose connection was lost is destroyed, not reused. */
async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  // The pool stops listening to a client it hands out; a connection dying meanwhile would be an
  // unhandled 'error' event. The pending query fails with the error anyway, so noting it suffices.
  const onError = (error: Error) => {
    lost = error;
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } catch (error) {
    if (pgUnavailableReason(error) !== null) lost ??= error as Error;
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(lost);
  }
}

/**
 * Brings the database at `url` to the newest schema; safe to run from several processes at once.
 *
 * @example
 * const { applied } = await migratePostgres('postgres://panda@db/panda'); // [1, 2] the first time, [] after
 */
export async function migratePostgres(url: string): Promise<{ applied: number[] }> {
  const pool = createPool(url, 1);
  try {
    return { applied: await withClient(pool, (client) => applyMigrations(client, POSTGRES_MIGRATIONS)) };
  } catch (error) {
    throw storeError(error, unavailableAt(url));
  } finally {
    await pool.end();
  }
}

/**
 * Connects a pool to PostgreSQL and migrates the schema. Every method throws PandaError
 * UNAVAILABLE within seconds while the database is unreachable, and works again once it is back.
 *
 * @example
 * const store = await createPostgresStore({ url: 'postgres://panda@db/panda', poolSize: 20 });
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const { now, newId } = resolveClock(options);
  const pool = createPool(options.url, options.poolSize ?? 10, options.queryTimeoutMs);
  try {
    await withClient(pool, (client) => applyMigrations(client, POSTGRES_MIGRATIONS));
  } catch (error) {
    await pool.end();
    throw storeError(error, unavailableAt(options.url));
  }

  function transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withClient(pool, (client) => inTransaction(client, () => fn(client)));
  }

  async function writeAudit(client: pg.Pool | pg.PoolClient, entry: AuditInput, at: Date): Promise<void> {
    await client.query(
      'INSERT INTO audit (at, actor, action, key, job_id, remote) VALUES ($1, $2, $3, $4, $5, $6)',
      [at, entry.actor, entry.action, entry.key, entry.jobId ?? null, entry.remote ?? null],
    );
  }

  async function rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await pool.query<R>(sql, params)).rows;
  }

  let closing: Promise<void> | undefined;

  const methods: StoreMethods = {
    putSecret: (input, quota, audit) => {
      const { owner, ...write } = input;
      return methods.putSecrets(owner, [write], quota, audit);
    },
    putSecrets: (owner, inputs, quota, audit) =>
      transaction(async (client) => {
        // The same per-owner lock as putSecret: no other writer can pass the quota check meanwhile.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_LOCK_NAMESPACE, owner]);
        const usage = await client.query<{ count: string; bytes: string }>(
          'SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes FROM secrets WHERE owner = $1 AND key <> ALL($2::text[])',
          [owner, inputs.map((input) => input.key)],
        );
        const { count, bytes } = usage.rows[0]!;
        assertBatchWithinQuota(inputs, { count: Number(count), bytes: Number(bytes) }, quota);
        const at = now();
        for (const input of inputs) {
          await client.query(
            `INSERT INTO secrets (owner, key, ciphertext, key_id, size, created_at, updated_at, revision)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
             ON CONFLICT (owner, key) DO UPDATE SET ciphertext = excluded.ciphertext, key_id = excluded.key_id,
               size = excluded.size, updated_at = excluded.updated_at, revision = excluded.revision`,
            [owner, input.key, input.ciphertext, input.keyId, input.size, at, newRevision()],
          );
          await writeAudit(client, { ...audit, key: input.key }, at);
        }
      }),
    getSecrets: async (owner, keys) =>
      (
        await rows<SecretColumns>(
          `SELECT * FROM secrets WHERE owner = $1 AND ($2::text[] IS NULL OR key = ANY($2::text[]))
           ORDER BY key COLLATE "C"`,
          [owner, keys ?? null],
        )
      ).map(toSecret),
    deleteSecret: (owner, key, audit) =>
      transaction(async (client) => {
        for (const candidate of deletionCandidates(key)) {
          const { rowCount } = await client.query('DELETE FROM secrets WHERE owner = $1 AND key = $2', [
            owner,
            candidate,
          ]);
          if (rowCount) {
            await writeAudit(client, { ...audit, key: candidate }, now());
            return candidate;
          }
        }
        return null;
      }),
    deleteAllSecrets: (owner, audit) =>
      transaction(async (client) => {
        const { rowCount } = await client.query('DELETE FROM secrets WHERE owner = $1', [owner]);
        await writeAudit(client, audit, now());
        return rowCount ?? 0;
      }),
    allSecrets: async () =>
      (await rows<SecretColumns>('SELECT * FROM secrets ORDER BY owner COLLATE "C", key COLLATE "C"')).map(toSecret),
    replaceCiphertexts: async (updates) => {
      const { rowCount } = await pool.query(
        `UPDATE secrets SET ciphertext = u.ciphertext, key_id = u.key_id, revision = u.next
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
           AS u (owner, key, ciphertext, key_id, revision, next)
         WHERE secrets.owner = u.owner AND secrets.key = u.key AND secrets.revision = u.revision`,
        [
          updates.map((u) => u.owner),
          updates.map((u) => u.key),
          updates.map((u) => u.ciphertext),
          updates.map((u) => u.keyId),
          updates.map((u) => u.revision),
          updates.map(() => newRevision()),
        ],
      );
      return rowCount ?? 0;
    },
    createJobs: (owner, specs) =>
      transaction(async (client) => {
        const at = now();
        const jobs = [];
        for (const spec of specs) {
          const { rows: inserted } = await client.query<JobColumns>(
            `INSERT INTO jobs (id, owner, spec, state, created_at, updated_at)
             VALUES ($1, $2, $3::jsonb, 'queued', $4, $4) RETURNING *`,
            [newId(), owner, JSON.stringify(spec), at],
          );
          jobs.push(toJob(inserted[0]!));
        }
        return jobs;
      }),
    getJob: async (id) => {
      const [row] = await rows<JobColumns>('SELECT * FROM jobs WHERE id = $1', [id]);
      return row === undefined ? null : toJob(row);
    },
    countUnfinishedJobs: async (owner) => {
      const [row] = await rows<{ n: number }>(
        "SELECT count(*)::integer AS n FROM jobs WHERE owner = $1 AND state IN ('queued', 'running')",
        [owner],
      );
      return row?.n ?? 0;
    },
    claimJobs: async (pilot, limit) => {
      const count = claimCount(limit);
      if (count === 0) return [];
      // Rows another claimer holds are skipped, not waited for; a row it has already claimed fails
      // the re-checked `state = 'queued'`. Each claimed row takes its own fresh claim id.
      const claimed = await rows<JobColumns & { n: number }>(
        `WITH locked AS (
           SELECT id, created_at, seq FROM jobs WHERE state = 'queued'
           ORDER BY created_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
         ), picked AS (
           SELECT id, (row_number() OVER (ORDER BY created_at, seq))::int AS n FROM locked
         )
         UPDATE jobs SET state = 'running', pilot = $1, claim_id = ($3::text[])[picked.n], updated_at = $4
         FROM picked WHERE jobs.id = picked.id
         RETURNING jobs.*, picked.n`,
        [pilot, count, Array.from({ length: count }, () => newId()), now()],
      );
      return claimed.sort((a, b) => a.n - b.n).map(toJob);
    },
    updateJob: (id, pilot, claimId, update) =>
      transaction(async (client) => {
        const { rows: found } = await client.query<JobOwnership>(
          'SELECT state, pilot, claim_id AS "claimId", length(log)::integer AS "logLength" FROM jobs WHERE id = $1 FOR UPDATE',
          [id],
        );
        assertJobUpdatable(id, found[0], pilot, claimId);
        const { rows: updated } = await client.query<JobColumns>(
          `UPDATE jobs SET state = $2, exit_code = CASE WHEN $3 THEN $4::integer ELSE exit_code END,
             log = log || $5, updated_at = $6
           WHERE id = $1 RETURNING *`,
          [
            id,
            update.state,
            update.exitCode !== undefined,
            update.exitCode ?? null,
            fitLogChunk(found[0]?.logLength ?? 0, update.appendLog ?? '', update.maxLogLength),
            now(),
          ],
        );
        return toJob(updated[0]!);
      }),
    appendAudit: (entry) => writeAudit(pool, entry, now()),
    listAudit: async (filter = {}) =>
      (
        await rows<AuditColumns>(
          `SELECT * FROM audit WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR job_id = $2)
           ORDER BY id`,
          [filter.actor ?? null, filter.jobId ?? null],
        )
      ).map(toAudit),
    getMeta: async (name) => (await rows<{ value: string }>('SELECT value FROM meta WHERE name = $1', [name]))[0]?.value ?? null,
    setMeta: async (name, value) => {
      await pool.query(
        'INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
        [name, value],
      );
    },
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => (closing ??= pool.end()),
  };
  return withStoreErrors(methods, unavailableAt(options.url));
}
