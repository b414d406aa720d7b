import pg from 'pg';
import { wireKeysOf, type AttemptOutcome, type JobState } from '@panda-secrets/protocol';
import { toAttempt, toAudit, toJob, toLogSlice, toSecret, toTasks } from './rows.js';
import type { AttemptColumns, AuditColumns, JobColumns, SecretColumns, TaskStateColumns } from './rows.js';
import { POSTGRES_MIGRATIONS, applyMigrations, inTransaction } from './postgres-migrations.js';
import {
  assertJobUpdatable,
  assertBatchWithinQuota,
  attemptEnd,
  cancelledNote,
  claimCount,
  emptyTask,
  failureReason,
  fitLogChunk,
  jobSecretsAudit,
  jobCapError,
  nothingToKill,
  nothingToRetry,
  resolveClock,
  newRevision,
  retriedNote,
  storeError,
  taskNotFound,
  withStoreErrors,
} from './rules.js';
import type { JobOwnership, StoreClock, StoreMethods } from './rules.js';
import type { AuditInput, JobRow, SecretCiphertext, Store, TaskRow } from './types.js';

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
/** Namespace of the per-owner locks that serialise job submissions against the per-user job cap. */
const OWNER_JOBS_LOCK_NAMESPACE = 0x6a6f6273;

const JOB_OWNERSHIP = `SELECT owner, state, pilot, claim_id AS "claimId", attempt_nr AS "attemptNr", max_attempts AS "maxAttempts",
  lease_expires_at AS "leaseExpiresAt", log_bytes::float8 AS "logBytes" FROM jobs`;

const TASK_STATES = `SELECT t.task_id, t.owner, t.exec, t.out_ds, t.created_at, j.state, count(*)::integer AS n,
    sum(j.attempt_nr)::integer AS attempts, max(j.updated_at) AS updated_at
  FROM tasks t JOIN jobs j ON j.task_id = t.task_id
  WHERE t.owner = $1 AND ($2::bigint IS NULL OR t.task_id = $2)
  GROUP BY t.task_id, j.state ORDER BY t.task_id DESC, j.state`;

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

/**
 * A pg client that gives up connecting after CONNECT_TIMEOUT_MS. The limit is set here rather than
 * as the pool's connectionTimeoutMillis, which pg-pool also applies to the wait for a busy pool's
 * next free client: under a burst of calls, a healthy database would answer UNAVAILABLE. A wait for
 * a free client is bounded anyway, by the query timeout of the calls holding the clients.
 */
class TimedConnectClient extends pg.Client {
  constructor(config: pg.ClientConfig = {}) {
    super({ ...config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  }
}

function createPool(url: string, size: number, queryTimeoutMs = QUERY_TIMEOUT_MS): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: size,
    Client: TimedConnectClient,
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
    await writeAudits(client, [entry], at);
  }

  /** Inserts audit entries in one statement, in their order. */
  async function writeAudits(client: pg.Pool | pg.PoolClient, entries: readonly AuditInput[], at: Date): Promise<void> {
    await client.query(
      `INSERT INTO audit (at, actor, action, key, job_id, remote)
       SELECT $1, actor, action, key, job_id, remote
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
         AS e (actor, action, key, job_id, remote, n)
       ORDER BY n`,
      [
        at,
        entries.map((entry) => entry.actor),
        entries.map((entry) => entry.action),
        entries.map((entry) => entry.key),
        entries.map((entry) => entry.jobId ?? null),
        entries.map((entry) => entry.remote ?? null),
      ],
    );
  }

  async function rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await pool.query<R>(sql, params)).rows;
  }

  type Queryable = pg.Pool | pg.PoolClient;

  async function countUnfinished(client: Queryable, owner: string): Promise<number> {
    const { rows: found } = await client.query<{ n: number }>(
      "SELECT count(*)::integer AS n FROM jobs WHERE owner = $1 AND state IN ('queued', 'running')",
      [owner],
    );
    return found[0]?.n ?? 0;
  }

  async function loadTask(client: Queryable, owner: string, taskId: number): Promise<TaskRow | null> {
    return toTasks((await client.query<TaskStateColumns>(TASK_STATES, [owner, taskId])).rows)[0] ?? null;
  }

  async function ownTask(client: Queryable, owner: string, taskId: number): Promise<TaskRow> {
    const task = await loadTask(client, owner, taskId);
    if (task === null) throw taskNotFound(taskId);
    return task;
  }

  /** Appends bytes to a job's log as one chunk at its current end (the job's row is locked by the caller or here). */
  async function appendBytes(client: pg.PoolClient, id: string, data: Buffer, at: Date): Promise<void> {
    if (data.length === 0) return;
    const { rows: grown } = await client.query<{ end: string }>(
      'UPDATE jobs SET log_bytes = log_bytes + $2, updated_at = $3 WHERE id = $1 RETURNING log_bytes AS end',
      [id, data.length, at],
    );
    await client.query('INSERT INTO log_chunks (job_id, start_offset, data) VALUES ($1, $2, $3)', [
      id,
      Number(grown[0]!.end) - data.length,
      data,
    ]);
  }

  async function endAttempt(
    client: pg.PoolClient,
    id: string,
    attemptNr: number,
    outcome: AttemptOutcome,
    exitCode: number | null,
    at: Date,
  ): Promise<void> {
    await client.query(
      `UPDATE attempts SET ended_at = $3, outcome = $4, exit_code = $5 WHERE job_id = $1 AND attempt_nr = $2 AND outcome = 'running'`,
      [id, attemptNr, at, outcome, exitCode],
    );
  }

  /** Ends the current attempt without the payload's verdict: the job is queued again or fails. */
  async function requeue(
    client: pg.PoolClient,
    id: string,
    job: JobOwnership,
    outcome: 'lost' | 'released',
    exitCode: number | null,
    at: Date,
  ): Promise<void> {
    const end = attemptEnd(job, outcome);
    await endAttempt(client, id, job.attemptNr, outcome, exitCode, at);
    await client.query(
      `UPDATE jobs SET state = $2, reason = $3, exit_code = NULL, claim_id = NULL, lease_expires_at = NULL, updated_at = $4 WHERE id = $1`,
      [id, end.state, end.reason, at],
    );
    await appendBytes(client, id, Buffer.from(end.note, 'utf8'), at);
  }

  /** Ends the attempts whose lease ran out; rows another instance is handling are skipped. */
  async function expireLeases(client: pg.PoolClient, at: Date): Promise<number> {
    const { rows: expired } = await client.query<JobOwnership & { id: string }>(
      `${JOB_OWNERSHIP.replace('SELECT ', 'SELECT id, ')} WHERE state = 'running' AND lease_expires_at <= $1 FOR UPDATE SKIP LOCKED`,
      [at],
    );
    for (const job of expired) await requeue(client, job.id, job, 'lost', null, at);
    return expired.length;
  }

  /**
   * Claims up to `limit` queued jobs for `pilot`, oldest first, in the caller's transaction, after
   * ending the attempts whose lease ran out. Rows another claimer holds are skipped, not waited
   * for; a row it has already claimed fails the re-checked `state = 'queued'`. Each claimed row
   * takes its own fresh claim id and starts its attempt in the same statement.
   */
  async function claim(client: pg.PoolClient, pilot: string, limit: number, leaseMs: number, at: Date) {
    await expireLeases(client, at);
    const count = claimCount(limit);
    if (count === 0) return [];
    const { rows: claimed } = await client.query<JobColumns & { n: number }>(
      `WITH locked AS (
         SELECT id, created_at, seq FROM jobs WHERE state = 'queued'
         ORDER BY created_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
       ), picked AS (
         SELECT id, (row_number() OVER (ORDER BY created_at, seq))::int AS n FROM locked
       ), claimed AS (
         UPDATE jobs SET state = 'running', pilot = $1, claim_id = ($3::text[])[picked.n], attempt_nr = attempt_nr + 1,
           lease_expires_at = $5, exit_code = NULL, updated_at = $4
         FROM picked WHERE jobs.id = picked.id
         RETURNING jobs.*, picked.n
       ), started AS (
         INSERT INTO attempts (job_id, attempt_nr, pilot, started_at, outcome)
         SELECT id, attempt_nr, $1, $4, 'running' FROM claimed
       )
       SELECT * FROM claimed`,
      [pilot, count, Array.from({ length: count }, () => newId()), at, new Date(at.getTime() + leaseMs)],
    );
    return claimed.sort((a, b) => a.n - b.n).map(toJob);
  }

  /** The secrets each job's spec names that its owner still has, by job id, each job's sorted by key. */
  async function secretsOfJobs(client: pg.PoolClient, jobs: readonly JobRow[]) {
    const wanted = jobs.flatMap((job) => job.spec.secrets.map((key) => [job.id, job.owner, key] as const));
    const byJob = new Map<string, SecretCiphertext[]>(jobs.map((job) => [job.id, []]));
    if (wanted.length === 0) return byJob;
    const { rows: found } = await client.query<SecretCiphertext & { job_id: string }>(
      `SELECT w.job_id, s.owner, s.key, s.ciphertext, s.size
       FROM unnest($1::text[], $2::text[], $3::text[]) AS w (job_id, owner, key)
       JOIN secrets s ON s.owner = w.owner AND s.key = w.key
       ORDER BY w.job_id, s.key COLLATE "C"`,
      [wanted.map(([id]) => id), wanted.map(([, owner]) => owner), wanted.map(([, , key]) => key)],
    );
    for (const { job_id, ...secret } of found) byJob.get(job_id)?.push(secret);
    return byJob;
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
        }
        await writeAudits(
          client,
          inputs.map((input) => ({ ...audit, key: input.key })),
          at,
        );
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
        for (const candidate of wireKeysOf(key)) {
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
    getCiphertexts: async (owner, keys) =>
      rows<SecretCiphertext>(
        `SELECT owner, key, ciphertext, size FROM secrets WHERE owner = $1 AND ($2::text[] IS NULL OR key = ANY($2::text[]))
         ORDER BY key COLLATE "C"`,
        [owner, keys ?? null],
      ),
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
    createTask: (owner, specs, limits) =>
      transaction(async (client) => {
        // Serialises this owner's submissions, so two can never both pass the job cap.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_JOBS_LOCK_NAMESPACE, owner]);
        const unfinished = await countUnfinished(client, owner);
        if (unfinished + specs.length > limits.maxUnfinishedJobs)
          throw jobCapError(unfinished, specs.length, limits.maxUnfinishedJobs);
        const [first] = specs;
        if (first === undefined) throw emptyTask();
        const at = now();
        const { rows: task } = await client.query<{ task_id: string }>(
          'INSERT INTO tasks (owner, exec, out_ds, created_at) VALUES ($1, $2, $3, $4) RETURNING task_id',
          [owner, first.exec, first.outDS, at],
        );
        const taskId = Number(task[0]!.task_id);
        const { rows: inserted } = await client.query<JobColumns>(
          `INSERT INTO jobs (id, owner, task_id, job_index, spec, state, max_attempts, created_at, updated_at)
           SELECT id, $2, $3, job_index, spec, 'queued', $5, $6, $6
           FROM unnest($1::text[], $4::jsonb[]) WITH ORDINALITY AS s (id, spec, job_index)
           ORDER BY job_index RETURNING *`,
          [specs.map(() => newId()), owner, taskId, specs.map((spec) => JSON.stringify(spec)), limits.maxAttempts, at],
        );
        return { taskId, jobs: inserted.map(toJob).sort((a, b) => a.jobIndex - b.jobIndex) };
      }),
    getJob: async (id) => {
      const [row] = await rows<JobColumns>('SELECT * FROM jobs WHERE id = $1', [id]);
      return row === undefined ? null : toJob(row);
    },
    countUnfinishedJobs: (owner) => countUnfinished(pool, owner),
    listTasks: async (owner) => toTasks(await rows<TaskStateColumns>(TASK_STATES, [owner, null])),
    getTask: async (owner, taskId) => {
      const task = await loadTask(pool, owner, taskId);
      if (task === null) return null;
      const attempts = (
        await rows<AttemptColumns>(
          'SELECT a.* FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE j.task_id = $1 ORDER BY a.job_id, a.attempt_nr',
          [taskId],
        )
      ).map(toAttempt);
      const jobs = (await rows<JobColumns>('SELECT * FROM jobs WHERE task_id = $1 ORDER BY job_index', [taskId])).map(
        (row) => {
          const job = toJob(row);
          return { ...job, attempts: attempts.filter((attempt) => attempt.jobId === job.id) };
        },
      );
      return { task, jobs };
    },
    getTaskJob: async (owner, taskId, jobIndex) => {
      const [row] = await rows<JobColumns>(
        'SELECT j.* FROM jobs j JOIN tasks t ON t.task_id = j.task_id WHERE t.owner = $1 AND j.task_id = $2 AND j.job_index = $3',
        [owner, taskId, jobIndex],
      );
      return row === undefined ? null : toJob(row);
    },
    killTask: (owner, taskId, reason) =>
      transaction(async (client) => {
        const task = await ownTask(client, owner, taskId);
        if (task.jobsByState.queued + task.jobsByState.running === 0) throw nothingToKill(taskId, task.status);
        const at = now();
        const { rows: killed } = await client.query<{ id: string; attempt_nr: number; was: JobState }>(
          `UPDATE jobs SET state = 'cancelled', reason = $2, lease_expires_at = NULL, updated_at = $3
           FROM (SELECT id AS old_id, state AS was FROM jobs WHERE task_id = $1 AND state IN ('queued', 'running') FOR UPDATE) old
           WHERE jobs.id = old.old_id RETURNING jobs.id, jobs.attempt_nr, old.was`,
          [taskId, reason, at],
        );
        const note = Buffer.from(cancelledNote(reason), 'utf8');
        for (const job of killed) {
          if (job.was === 'running') await endAttempt(client, job.id, job.attempt_nr, 'cancelled', null, at);
          await appendBytes(client, job.id, note, at);
        }
        return { task: await ownTask(client, owner, taskId), cancelled: killed.length };
      }),
    retryTask: (owner, taskId, maxAttempts) =>
      transaction(async (client) => {
        const task = await ownTask(client, owner, taskId);
        if (task.jobsByState.failed + task.jobsByState.cancelled === 0) throw nothingToRetry(taskId, task.status);
        const at = now();
        const { rows: retried } = await client.query<{ id: string; attempt_nr: number }>(
          `UPDATE jobs SET state = 'queued', reason = NULL, exit_code = NULL, claim_id = NULL,
             max_attempts = attempt_nr + $2, updated_at = $3
           WHERE task_id = $1 AND state IN ('failed', 'cancelled') RETURNING id, attempt_nr`,
          [taskId, maxAttempts, at],
        );
        for (const job of retried)
          await appendBytes(client, job.id, Buffer.from(retriedNote(job.attempt_nr), 'utf8'), at);
        return { task: await ownTask(client, owner, taskId), retried: retried.length };
      }),
    readJobLog: async (id, offset) => {
      const [job] = await rows<{ log_bytes: string }>('SELECT log_bytes FROM jobs WHERE id = $1', [id]);
      const chunks = await rows<{ start_offset: string; data: Buffer }>(
        'SELECT start_offset, data FROM log_chunks WHERE job_id = $1 AND start_offset + octet_length(data) > $2 ORDER BY start_offset',
        [id, offset],
      );
      return toLogSlice(chunks, offset, Number(job?.log_bytes ?? 0));
    },
    expireLeases: () => transaction((client) => expireLeases(client, now())),
    claimJobsWithSecrets: (pilot, limit, leaseMs, remote) =>
      transaction(async (client) => {
        const at = now();
        const jobs = await claim(client, pilot, limit, leaseMs, at);
        const secrets = await secretsOfJobs(client, jobs);
        const claimed = jobs.map((job) => ({ job, secrets: secrets.get(job.id) ?? [] }));
        const audits = claimed.flatMap(({ job, secrets: found }) => jobSecretsAudit(job, found, pilot, remote) ?? []);
        if (audits.length > 0) await writeAudits(client, audits, at);
        return claimed;
      }),
    renewLease: (id, pilot, claimId, leaseMs) =>
      transaction(async (client) => {
        const at = now();
        const { rows: found } = await client.query<JobOwnership>(`${JOB_OWNERSHIP} WHERE id = $1 FOR UPDATE`, [id]);
        const job = found[0];
        assertJobUpdatable(id, job, pilot, claimId, at, { allowCancelled: true });
        if (job.state === 'cancelled') return { leaseExpiresAt: at, cancel: true };
        const lease = new Date(at.getTime() + leaseMs);
        await client.query('UPDATE jobs SET lease_expires_at = $2 WHERE id = $1', [id, lease]);
        return { leaseExpiresAt: lease, cancel: false };
      }),
    updateJob: (id, pilot, claimId, update) =>
      transaction(async (client) => {
        const at = now();
        const { rows: found } = await client.query<JobOwnership>(`${JOB_OWNERSHIP} WHERE id = $1 FOR UPDATE`, [id]);
        const job = found[0];
        assertJobUpdatable(id, job, pilot, claimId, at, { allowCancelled: true });
        if (update.appendLog !== undefined && update.appendLog !== '') {
          let ownerRoom: number | undefined;
          if (update.ownerLogBudget !== undefined) {
            const { rows: used } = await client.query<{ n: number }>(
              'SELECT coalesce(sum(log_bytes), 0)::float8 AS n FROM jobs WHERE owner = $1',
              [job.owner],
            );
            ownerRoom = update.ownerLogBudget - used[0]!.n;
          }
          const data = fitLogChunk(job.logBytes, update.appendLog, {
            maxLogBytes: update.maxLogBytes,
            ownerRoom,
            ownerBudget: update.ownerLogBudget,
          });
          await appendBytes(client, id, data, at);
        }
        const exitCode = update.exitCode ?? null;
        if (job.state === 'cancelled') {
          // The kill ended the attempt; the pilot's last report only adds the payload's exit code.
          if (update.state !== 'running') {
            await client.query('UPDATE attempts SET exit_code = $3 WHERE job_id = $1 AND attempt_nr = $2', [
              id,
              job.attemptNr,
              exitCode,
            ]);
          }
        } else if (update.state === 'running') {
          await client.query('UPDATE jobs SET updated_at = $2 WHERE id = $1', [id, at]);
        } else if (update.state === 'released') {
          await requeue(client, id, job, 'released', exitCode, at);
        } else {
          await endAttempt(client, id, job.attemptNr, update.state, exitCode, at);
          await client.query(
            `UPDATE jobs SET state = $2, exit_code = $3, reason = $4, lease_expires_at = NULL, updated_at = $5 WHERE id = $1`,
            [
              id,
              update.state,
              exitCode,
              update.state === 'failed' ? (update.reason ?? failureReason(exitCode)) : null,
              at,
            ],
          );
        }
        const { rows: updated } = await client.query<JobColumns>('SELECT * FROM jobs WHERE id = $1', [id]);
        return toJob(updated[0]!);
      }),
    applyRetention: (endedBefore, ownerLogBudget) =>
      transaction(async (client) => {
        const { rows: expired } = await client.query<{ id: string }>(
          `DELETE FROM jobs WHERE id IN (
             SELECT id FROM jobs WHERE state IN ('finished', 'failed', 'cancelled') AND updated_at < $1 FOR UPDATE SKIP LOCKED
           ) RETURNING id`,
          [endedBefore],
        );
        const ids = expired.map((job) => job.id);
        if (ids.length > 0) {
          await client.query('DELETE FROM log_chunks WHERE job_id = ANY($1::text[])', [ids]);
          await client.query('DELETE FROM attempts WHERE job_id = ANY($1::text[])', [ids]);
          await client.query(
            'DELETE FROM tasks WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.task_id = tasks.task_id)',
          );
        }
        // Per owner, the ended jobs' logs oldest first, as long as the owner stays over the budget.
        const { rows: emptied } = await client.query<{ id: string }>(
          `WITH totals AS (
             SELECT owner, sum(log_bytes) AS total FROM jobs GROUP BY owner HAVING sum(log_bytes) > $1
           ), ranked AS (
             SELECT j.id, totals.total - sum(j.log_bytes) OVER (PARTITION BY j.owner ORDER BY j.updated_at, j.seq) AS remaining,
               j.log_bytes
             FROM jobs j JOIN totals ON totals.owner = j.owner
             WHERE j.log_bytes > 0 AND j.state IN ('finished', 'failed', 'cancelled')
           ), chosen AS (
             SELECT id FROM ranked WHERE remaining + log_bytes > $1
           )
           UPDATE jobs SET log_bytes = 0 FROM chosen WHERE jobs.id = chosen.id RETURNING jobs.id`,
          [ownerLogBudget],
        );
        if (emptied.length > 0) {
          await client.query('DELETE FROM log_chunks WHERE job_id = ANY($1::text[])', [emptied.map((job) => job.id)]);
        }
        return { jobs: ids.length, logs: emptied.length };
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
    getMeta: async (name) =>
      (await rows<{ value: string }>('SELECT value FROM meta WHERE name = $1', [name]))[0]?.value ?? null,
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
