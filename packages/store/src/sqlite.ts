import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { toAttempt, toAudit, toJob, toLogSlice, toSecret, toTasks } from './rows.js';
import type { AttemptColumns, AuditColumns, JobColumns, SecretColumns, TaskStateColumns } from './rows.js';
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
import type { JobOwnership, QuotaUsage, StoreClock, StoreMethods } from './rules.js';
import { wireKeysOf, type AttemptOutcome, type JobState } from '@panda-secrets/protocol';
import type { AuditInput, JobRow, Quota, SecretCiphertext, SecretWrite, Store, TaskRow } from './types.js';

export interface SqliteStoreOptions extends StoreClock {
  /** The database file; created (with its directory) when missing. */
  file: string;
}

/** Times are epoch milliseconds; jobs.seq orders jobs created in the same millisecond. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS secrets (
  owner TEXT NOT NULL,
  key TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  key_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (owner, key)
);
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  spec TEXT NOT NULL,
  state TEXT NOT NULL,
  exit_code INTEGER,
  pilot TEXT,
  claim_id TEXT,
  log TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_queued ON jobs (created_at, seq) WHERE state = 'queued';
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  key TEXT,
  job_id TEXT,
  remote TEXT
);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, id);
CREATE INDEX IF NOT EXISTS audit_job ON audit (job_id, id);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/**
 * The steps from the first schema (above) to the newest, numbered by PRAGMA user_version: a
 * database file of any earlier version is brought up to date when it is opened. Never edit a
 * released step: add the next one.
 */
const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: tasks, attempts, leases, and logs as bytes. Each job of the first schema becomes a task of
  // its own; a job left running gets a lease that has already run out, so it is queued again.
  `
  CREATE TABLE tasks (
    task_id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    exec TEXT NOT NULL,
    out_ds TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX tasks_owner ON tasks (owner, task_id);
  ALTER TABLE jobs ADD COLUMN task_id INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN job_index INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE jobs ADD COLUMN attempt_nr INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;
  ALTER TABLE jobs ADD COLUMN reason TEXT;
  ALTER TABLE jobs ADD COLUMN lease_expires_at INTEGER;
  ALTER TABLE jobs ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE attempts (
    job_id TEXT NOT NULL,
    attempt_nr INTEGER NOT NULL,
    pilot TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    outcome TEXT NOT NULL,
    exit_code INTEGER,
    PRIMARY KEY (job_id, attempt_nr)
  );
  CREATE TABLE log_chunks (
    job_id TEXT NOT NULL,
    start_offset INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, start_offset)
  );
  INSERT INTO tasks (task_id, owner, exec, out_ds, created_at)
    SELECT seq, owner, json_extract(spec, '$.exec'), json_extract(spec, '$.outDS'), created_at FROM jobs;
  UPDATE jobs SET task_id = seq,
    attempt_nr = CASE WHEN state = 'queued' THEN 0 ELSE 1 END,
    lease_expires_at = CASE WHEN state = 'running' THEN updated_at END,
    log_bytes = length(CAST(log AS BLOB));
  INSERT INTO attempts (job_id, attempt_nr, pilot, started_at, ended_at, outcome, exit_code)
    SELECT id, 1, coalesce(pilot, ''), created_at, CASE WHEN state = 'running' THEN NULL ELSE updated_at END, state, exit_code
    FROM jobs WHERE state <> 'queued';
  INSERT INTO log_chunks (job_id, start_offset, data) SELECT id, 0, CAST(log AS BLOB) FROM jobs WHERE log <> '';
  ALTER TABLE jobs DROP COLUMN log;
  CREATE INDEX jobs_task ON jobs (task_id, job_index);
  CREATE INDEX jobs_owner_state ON jobs (owner, state);
  CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
  CREATE INDEX jobs_ended ON jobs (updated_at) WHERE state IN ('finished', 'failed', 'cancelled');
  `,
  // 2: each write gives its row a fresh revision; key rotation rewrites a row only at the revision it read.
  `ALTER TABLE secrets ADD COLUMN revision TEXT NOT NULL DEFAULT '';`,
];

/** A secret's key, ciphertext and size, as a raw row of the ciphertext reads. */
type CiphertextColumns = [key: string, ciphertext: string, size: number];

/** A put waiting for the commit it shares with the other puts of its turn of the event loop. */
interface PendingPut {
  owner: string;
  inputs: readonly SecretWrite[];
  quota: Quota;
  audit: AuditInput;
  /** Resolves the caller's promise (no error) or rejects it. */
  settle(error: unknown): void;
}

/** How long a connection waits for another's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/** Milliseconds between the background checkpoints. */
const CHECKPOINT_INTERVAL_MS = 100;

/**
 * WAL pages past which a commit copies the WAL into the database file itself (SQLite's default
 * is 1000): only a backstop, for when the background checkpoints cannot run or fall behind.
 */
const WAL_BACKSTOP_PAGES = 10_000;

/**
 * The background checkpointer, run as a worker thread's source: its own connection copies the WAL
 * into the database file every few milliseconds. A checkpoint syncs the WAL and the database file
 * to disk; in a commit on the event loop those two fsyncs held up every request behind them (one
 * write in a hundred waited several milliseconds). PASSIVE never waits for readers or writers.
 * Commits are as durable as before: each is in the WAL, in the operating system's hands, when it
 * returns (synchronous = NORMAL).
 */
const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A busy or failing file: the next round tries again, and commits keep the backstop.
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/** Starts the background checkpointer of the database `file`; `stop` ends it after a last checkpoint. */
function startCheckpointer(file: string): { stop(): Promise<void> } {
  const worker = new Worker(CHECKPOINTER_SOURCE, {
    eval: true,
    workerData: {
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      file,
      busyTimeoutMs: BUSY_TIMEOUT_MS,
      intervalMs: CHECKPOINT_INTERVAL_MS,
    },
  });
  // It never keeps the process alive, and a failure of it leaves the commits' backstop in charge.
  worker.unref();
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      // Held open until its last checkpoint is done, or the process would end with close() pending.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}

/** SQLite result codes that mean the database cannot be used right now, in a few words. */
function sqliteUnavailableReason(error: unknown): string | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'the database file is locked';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'the database file cannot be opened';
  if (code.startsWith('SQLITE_IOERR')) return 'disk I/O error';
  if (code === 'SQLITE_FULL') return 'the disk is full';
  if (code.startsWith('SQLITE_READONLY')) return 'the database file is read-only';
  return null;
}

/**
 * Creates the database file owner-only before SQLite opens it: SQLite gives the -wal and -shm
 * files the mode of the database file, so they are owner-only too.
 */
function createPrivateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}

/** Tightens files a crashed process may have left with a looser mode. */
function restrictCompanionFiles(file: string): void {
  for (const companion of [`${file}-wal`, `${file}-shm`]) {
    if (existsSync(companion)) chmodSync(companion, 0o600);
  }
}

/**
 * Opens (creating when missing) the embedded SQLite store: WAL mode, a busy timeout so several
 * processes can share the file, every write one immediate transaction (the secret puts of one
 * turn of the event loop share one), checkpoints in a background thread, files mode 0600.
 *
 * @example
 * const store = await createSqliteStore({ file: join(dataDir, 'panda.db') });
 */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const { now, newId } = resolveClock(options);
  let db: Database.Database;
  try {
    db = openDatabase(options.file);
  } catch (error) {
    throw storeError(error, sqliteUnavailableReason);
  }
  const ms = () => now().getTime();

  const statements = {
    usageExceptKeys: db.prepare<[string, string], QuotaUsage>(
      'SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes FROM secrets WHERE owner = ? AND key NOT IN (SELECT value FROM json_each(?))',
    ),
    upsertSecret: db.prepare(
      `INSERT INTO secrets (owner, key, ciphertext, key_id, size, created_at, updated_at, revision)
       VALUES (@owner, @key, @ciphertext, @keyId, @size, @at, @at, @revision)
       ON CONFLICT (owner, key) DO UPDATE SET ciphertext = excluded.ciphertext, key_id = excluded.key_id,
         size = excluded.size, updated_at = excluded.updated_at, revision = excluded.revision`,
    ),
    ownerSecrets: db.prepare<{ owner: string; keys: string | null }, SecretColumns>(
      `SELECT * FROM secrets
       WHERE owner = @owner AND (@keys IS NULL OR key IN (SELECT value FROM json_each(@keys))) ORDER BY key`,
    ),
    // Rows as arrays (`raw`), the owner being the one asked for: the hot read of every get_user_secrets.
    ownerCiphertexts: db
      .prepare<[string], CiphertextColumns>('SELECT key, ciphertext, size FROM secrets WHERE owner = ? ORDER BY key')
      .raw(true),
    ciphertextsOfKeys: db
      .prepare<[string, string], CiphertextColumns>(
        'SELECT key, ciphertext, size FROM secrets WHERE owner = ? AND key IN (SELECT value FROM json_each(?)) ORDER BY key',
      )
      .raw(true),
    allSecrets: db.prepare<[], SecretColumns>('SELECT * FROM secrets ORDER BY owner, key'),
    deleteSecret: db.prepare<[string, string]>('DELETE FROM secrets WHERE owner = ? AND key = ?'),
    deleteOwnerSecrets: db.prepare<[string]>('DELETE FROM secrets WHERE owner = ?'),
    replaceCiphertext: db.prepare(
      `UPDATE secrets SET ciphertext = @ciphertext, key_id = @keyId, revision = @next
       WHERE owner = @owner AND key = @key AND revision = @revision`,
    ),
    insertTask: db.prepare<{ owner: string; exec: string; outDS: string; at: number }, { task_id: number }>(
      'INSERT INTO tasks (owner, exec, out_ds, created_at) VALUES (@owner, @exec, @outDS, @at) RETURNING task_id',
    ),
    insertJob: db.prepare(
      `INSERT INTO jobs (id, owner, task_id, job_index, spec, state, max_attempts, created_at, updated_at)
       VALUES (@id, @owner, @taskId, @jobIndex, @spec, 'queued', @maxAttempts, @at, @at) RETURNING *`,
    ),
    getJob: db.prepare<[string], JobColumns>('SELECT * FROM jobs WHERE id = ?'),
    countUnfinishedJobs: db.prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM jobs WHERE owner = ? AND state IN ('queued', 'running')",
    ),
    taskStates: db.prepare<{ owner: string; taskId: number | null }, TaskStateColumns>(
      `SELECT t.task_id, t.owner, t.exec, t.out_ds, t.created_at, j.state, count(*) AS n,
         sum(j.attempt_nr) AS attempts, max(j.updated_at) AS updated_at
       FROM tasks t JOIN jobs j ON j.task_id = t.task_id
       WHERE t.owner = @owner AND (@taskId IS NULL OR t.task_id = @taskId)
       GROUP BY t.task_id, j.state ORDER BY t.task_id DESC, j.state`,
    ),
    taskJobs: db.prepare<[number], JobColumns>('SELECT * FROM jobs WHERE task_id = ? ORDER BY job_index'),
    taskAttempts: db.prepare<[number], AttemptColumns>(
      'SELECT a.* FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE j.task_id = ? ORDER BY a.job_id, a.attempt_nr',
    ),
    taskJob: db.prepare<[string, number, number], JobColumns>(
      'SELECT j.* FROM jobs j JOIN tasks t ON t.task_id = j.task_id WHERE t.owner = ? AND j.task_id = ? AND j.job_index = ?',
    ),
    queuedJobIds: db.prepare<[number], { id: string }>(
      "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at, seq LIMIT ?",
    ),
    claimJob: db.prepare(
      `UPDATE jobs SET state = 'running', pilot = @pilot, claim_id = @claimId, attempt_nr = attempt_nr + 1,
         lease_expires_at = @lease, exit_code = NULL, updated_at = @at
       WHERE id = @id RETURNING *`,
    ),
    startAttempt: db.prepare(
      `INSERT INTO attempts (job_id, attempt_nr, pilot, started_at, outcome) VALUES (@id, @attemptNr, @pilot, @at, 'running')`,
    ),
    endAttempt: db.prepare(
      `UPDATE attempts SET ended_at = @at, outcome = @outcome, exit_code = @exitCode
       WHERE job_id = @id AND attempt_nr = @attemptNr AND outcome = 'running'`,
    ),
    expiredLeases: db.prepare<[number], { id: string }>(
      "SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at <= ?",
    ),
    jobOwnership: db.prepare<[string], JobOwnership>(
      `SELECT owner, state, pilot, claim_id AS claimId, attempt_nr AS attemptNr, max_attempts AS maxAttempts,
         lease_expires_at AS leaseExpiresAt, log_bytes AS logBytes FROM jobs WHERE id = ?`,
    ),
    setJobState: db.prepare(
      `UPDATE jobs SET state = @state, exit_code = CASE WHEN @setExitCode THEN @exitCode ELSE exit_code END,
         reason = CASE WHEN @setReason THEN @reason ELSE reason END,
         claim_id = CASE WHEN @keepClaim THEN claim_id END,
         lease_expires_at = CASE WHEN @state = 'running' THEN lease_expires_at END, updated_at = @at
       WHERE id = @id`,
    ),
    renewLease: db.prepare('UPDATE jobs SET lease_expires_at = @lease WHERE id = @id'),
    recordExitCode: db.prepare(
      'UPDATE attempts SET exit_code = @exitCode WHERE job_id = @id AND attempt_nr = @attemptNr',
    ),
    appendChunk: db.prepare('INSERT INTO log_chunks (job_id, start_offset, data) VALUES (@id, @start, @data)'),
    growLog: db.prepare('UPDATE jobs SET log_bytes = log_bytes + @bytes, updated_at = @at WHERE id = @id'),
    ownerLogBytes: db.prepare<[string], { n: number }>(
      'SELECT coalesce(sum(log_bytes), 0) AS n FROM jobs WHERE owner = ?',
    ),
    logChunks: db.prepare<[string, number], { start_offset: number; data: Buffer }>(
      'SELECT start_offset, data FROM log_chunks WHERE job_id = ? AND start_offset + length(data) > ? ORDER BY start_offset',
    ),
    killQueued: db.prepare<{ taskId: number; reason: string; at: number }, { id: string }>(
      `UPDATE jobs SET state = 'cancelled', reason = @reason, updated_at = @at
       WHERE task_id = @taskId AND state = 'queued' RETURNING id`,
    ),
    killRunning: db.prepare<{ taskId: number; reason: string; at: number }, { id: string; attempt_nr: number }>(
      `UPDATE jobs SET state = 'cancelled', reason = @reason, lease_expires_at = NULL, updated_at = @at
       WHERE task_id = @taskId AND state = 'running' RETURNING id, attempt_nr`,
    ),
    retryJobs: db.prepare<{ taskId: number; maxAttempts: number; at: number }, { id: string; attempt_nr: number }>(
      `UPDATE jobs SET state = 'queued', reason = NULL, exit_code = NULL, claim_id = NULL,
         max_attempts = attempt_nr + @maxAttempts, updated_at = @at
       WHERE task_id = @taskId AND state IN ('failed', 'cancelled') RETURNING id, attempt_nr`,
    ),
    expiredJobs: db.prepare<[number], { id: string }>(
      "SELECT id FROM jobs WHERE state IN ('finished', 'failed', 'cancelled') AND updated_at < ?",
    ),
    overBudget: db.prepare<[number], { owner: string; n: number }>(
      'SELECT owner, sum(log_bytes) AS n FROM jobs GROUP BY owner HAVING sum(log_bytes) > ?',
    ),
    endedLogsOldestFirst: db.prepare<[string], { id: string; log_bytes: number }>(
      `SELECT id, log_bytes FROM jobs WHERE owner = ? AND log_bytes > 0 AND state IN ('finished', 'failed', 'cancelled')
       ORDER BY updated_at, seq`,
    ),
    emptyLog: db.prepare('UPDATE jobs SET log_bytes = 0 WHERE id = ?'),
    deleteChunks: db.prepare('DELETE FROM log_chunks WHERE job_id = ?'),
    deleteAttempts: db.prepare('DELETE FROM attempts WHERE job_id = ?'),
    deleteJob: db.prepare('DELETE FROM jobs WHERE id = ?'),
    deleteEmptyTasks: db.prepare(
      'DELETE FROM tasks WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.task_id = tasks.task_id)',
    ),
    insertAudit: db.prepare(
      `INSERT INTO audit (at, actor, action, key, job_id, remote)
       VALUES (@at, @actor, @action, @key, @jobId, @remote)`,
    ),
    listAudit: db.prepare<{ actor: string | null; jobId: string | null }, AuditColumns>(
      `SELECT * FROM audit WHERE (@actor IS NULL OR actor = @actor) AND (@jobId IS NULL OR job_id = @jobId)
       ORDER BY id`,
    ),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?'),
    setMeta: db.prepare<[string, string]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ),
    ping: db.prepare('SELECT 1'),
  };

  function writeAudit(entry: AuditInput, at: number): void {
    statements.insertAudit.run({
      at,
      actor: entry.actor,
      action: entry.action,
      key: entry.key,
      jobId: entry.jobId ?? null,
      remote: entry.remote ?? null,
    });
  }

  /**
   * Runs `fn` as one BEGIN IMMEDIATE transaction: the write lock up front, so no upgrade can
   * deadlock. The shared read of this turn (`sharedRead`) ends first, so the write is committed
   * when `fn` returns, and the reads after it see it.
   */
  function write<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const transaction = db.transaction(fn);
    return (...args: A) => {
      endSharedRead();
      return transaction.immediate(...args);
    };
  }

  let sharedReadOpen = false;

  function endSharedRead(): void {
    if (!sharedReadOpen) return;
    sharedReadOpen = false;
    if (db.inTransaction) db.exec('COMMIT');
  }

  /**
   * Runs `read` in the read transaction the hot reads of this turn of the event loop share, begun
   * by the first of them and ended when the turn is over or by the next write. Each read
   * transaction takes and releases a lock on the WAL index (two system calls, which cost more
   * than the query itself); the requests read in one turn all arrived before it began, so none
   * misses a write that was answered before it was sent. Inside a write, it reads in the write.
   */
  function sharedRead<R>(read: () => R): R {
    if (!db.inTransaction) {
      db.exec('BEGIN');
      sharedReadOpen = true;
      setImmediate(endSharedRead);
    }
    return read();
  }

  /**
   * Upserts an owner's secrets, all or none, after checking the quota for all of them. Called in
   * the transaction of a batch of puts (`commitPuts`), it runs in a savepoint of its own.
   */
  const putSecrets = db.transaction(({ owner, inputs, quota, audit }: PendingPut) => {
    assertBatchWithinQuota(
      inputs,
      statements.usageExceptKeys.get(owner, JSON.stringify(inputs.map((input) => input.key)))!,
      quota,
    );
    const at = ms();
    for (const input of inputs) {
      statements.upsertSecret.run({ ...input, owner, at, revision: newRevision() });
      writeAudit({ ...audit, key: input.key }, at);
    }
  });

  /**
   * The puts of one turn of the event loop, committed together: each in its own savepoint, so one
   * refused put (quota, a row the database refuses) changes nothing and fails alone; the others
   * share one commit. Each put's promise settles after that commit, so no caller is answered
   * before its write is durable. An error that ends the whole transaction fails every put of it.
   */
  const commitPuts = write((batch: readonly PendingPut[]) =>
    batch.map((put): unknown => {
      try {
        putSecrets(put);
        return undefined;
      } catch (error) {
        // SQLite rolled the whole transaction back: nothing of the batch may be committed.
        if (!db.inTransaction) throw error;
        return error;
      }
    }),
  );

  let pendingPuts: PendingPut[] = [];

  function flushPuts(): void {
    const batch = pendingPuts;
    pendingPuts = [];
    if (batch.length === 0) return;
    let errors: unknown[];
    try {
      errors = commitPuts(batch);
    } catch (error) {
      for (const put of batch) put.settle(error);
      return;
    }
    for (const [index, put] of batch.entries()) put.settle(errors[index]);
  }

  /** Queues a put for the commit at the end of this turn of the event loop, which many requests' puts share. */
  function queuePut(owner: string, inputs: readonly SecretWrite[], quota: Quota, audit: AuditInput): Promise<void> {
    return new Promise((resolve, reject) => {
      if (pendingPuts.length === 0) setImmediate(flushPuts);
      pendingPuts.push({
        owner,
        inputs,
        quota,
        audit,
        settle: (error) => (error === undefined ? resolve() : reject(error)),
      });
    });
  }

  /** Appends bytes to a job's log as one chunk at its current end. */
  function appendBytes(id: string, data: Buffer, at: number): void {
    if (data.length === 0) return;
    const start = statements.jobOwnership.get(id)?.logBytes ?? 0;
    statements.appendChunk.run({ id, start, data });
    statements.growLog.run({ id, bytes: data.length, at });
  }

  function setState(
    id: string,
    at: number,
    state: JobState,
    fields: { exitCode?: number | null; reason?: string | null; keepClaim?: boolean },
  ): void {
    statements.setJobState.run({
      id,
      state,
      setExitCode: fields.exitCode === undefined ? 0 : 1,
      exitCode: fields.exitCode ?? null,
      setReason: fields.reason === undefined ? 0 : 1,
      reason: fields.reason ?? null,
      keepClaim: fields.keepClaim ? 1 : 0,
      at,
    });
  }

  function endAttempt(
    id: string,
    attemptNr: number,
    outcome: AttemptOutcome,
    exitCode: number | null,
    at: number,
  ): void {
    statements.endAttempt.run({ id, attemptNr, outcome, exitCode, at });
  }

  /** Ends the current attempt without the payload's verdict: the job is queued again or fails. */
  function requeue(
    id: string,
    job: JobOwnership,
    outcome: 'lost' | 'released',
    exitCode: number | null,
    at: number,
  ): void {
    const end = attemptEnd(job, outcome);
    endAttempt(id, job.attemptNr, outcome, exitCode, at);
    setState(id, at, end.state, { exitCode: null, reason: end.reason });
    appendBytes(id, Buffer.from(end.note, 'utf8'), at);
  }

  function expireLeases(at: number): number {
    const expired = statements.expiredLeases.all(at);
    for (const { id } of expired) requeue(id, statements.jobOwnership.get(id)!, 'lost', null, at);
    return expired.length;
  }

  function ciphertexts(owner: string, keys?: readonly string[]): SecretCiphertext[] {
    const rows =
      keys === undefined
        ? statements.ownerCiphertexts.all(owner)
        : statements.ciphertextsOfKeys.all(owner, JSON.stringify(keys));
    return rows.map(([key, ciphertext, size]) => ({ owner, key, ciphertext, size }));
  }

  /** Claims up to `limit` queued jobs, oldest first, after ending the attempts whose lease ran out. */
  function claim(pilot: string, limit: number, leaseMs: number, at: number): JobRow[] {
    expireLeases(at);
    return statements.queuedJobIds.all(claimCount(limit)).map(({ id }) => {
      const row = statements.claimJob.get({ id, pilot, claimId: newId(), lease: at + leaseMs, at }) as JobColumns;
      statements.startAttempt.run({ id, attemptNr: row.attempt_nr, pilot, at });
      return toJob(row);
    });
  }

  function loadTask(owner: string, taskId: number): TaskRow | null {
    return toTasks(statements.taskStates.all({ owner, taskId }))[0] ?? null;
  }

  function ownTask(owner: string, taskId: number): TaskRow {
    const task = loadTask(owner, taskId);
    if (task === null) throw taskNotFound(taskId);
    return task;
  }

  const checkpointer = startCheckpointer(options.file);
  const methods: StoreMethods = {
    putSecret: (input, quota, audit) => {
      const { owner, ...write } = input;
      return queuePut(owner, [write], quota, audit);
    },
    putSecrets: (owner, inputs, quota, audit) => queuePut(owner, inputs, quota, audit),
    getSecrets: (owner, keys) =>
      statements.ownerSecrets.all({ owner, keys: keys === undefined ? null : JSON.stringify(keys) }).map(toSecret),
    deleteSecret: write((owner, key, audit) => {
      for (const candidate of wireKeysOf(key)) {
        if (statements.deleteSecret.run(owner, candidate).changes > 0) {
          writeAudit({ ...audit, key: candidate }, ms());
          return candidate;
        }
      }
      return null;
    }),
    deleteAllSecrets: write((owner, audit) => {
      const { changes } = statements.deleteOwnerSecrets.run(owner);
      writeAudit(audit, ms());
      return changes;
    }),
    getCiphertexts: (owner, keys) => sharedRead(() => ciphertexts(owner, keys)),
    allSecrets: () => statements.allSecrets.all().map(toSecret),
    replaceCiphertexts: write((updates) =>
      updates.reduce(
        (changed, update) => changed + statements.replaceCiphertext.run({ ...update, next: newRevision() }).changes,
        0,
      ),
    ),
    createTask: write((owner, specs, limits) => {
      const unfinished = statements.countUnfinishedJobs.get(owner)?.n ?? 0;
      if (unfinished + specs.length > limits.maxUnfinishedJobs)
        throw jobCapError(unfinished, specs.length, limits.maxUnfinishedJobs);
      const [first] = specs;
      if (first === undefined) throw emptyTask();
      const at = ms();
      const taskId = statements.insertTask.get({ owner, exec: first.exec, outDS: first.outDS, at })!.task_id;
      const jobs = specs.map((spec, index) =>
        toJob(
          statements.insertJob.get({
            id: newId(),
            owner,
            taskId,
            jobIndex: index + 1,
            spec: JSON.stringify(spec),
            maxAttempts: limits.maxAttempts,
            at,
          }) as JobColumns,
        ),
      );
      return { taskId, jobs };
    }),
    getJob: (id) => {
      const row = statements.getJob.get(id);
      return row === undefined ? null : toJob(row);
    },
    countUnfinishedJobs: (owner) => statements.countUnfinishedJobs.get(owner)?.n ?? 0,
    listTasks: (owner) => toTasks(statements.taskStates.all({ owner, taskId: null })),
    getTask: (owner, taskId) => {
      const task = loadTask(owner, taskId);
      if (task === null) return null;
      const attempts = statements.taskAttempts.all(taskId).map(toAttempt);
      const jobs = statements.taskJobs.all(taskId).map((row) => {
        const job = toJob(row);
        return { ...job, attempts: attempts.filter((attempt) => attempt.jobId === job.id) };
      });
      return { task, jobs };
    },
    getTaskJob: (owner, taskId, jobIndex) => {
      const row = statements.taskJob.get(owner, taskId, jobIndex);
      return row === undefined ? null : toJob(row);
    },
    killTask: write((owner, taskId, reason) => {
      const task = ownTask(owner, taskId);
      if (task.jobsByState.queued + task.jobsByState.running === 0) throw nothingToKill(taskId, task.status);
      const at = ms();
      const note = Buffer.from(cancelledNote(reason), 'utf8');
      const queued = statements.killQueued.all({ taskId, reason, at });
      const running = statements.killRunning.all({ taskId, reason, at });
      for (const job of running) endAttempt(job.id, job.attempt_nr, 'cancelled', null, at);
      for (const { id } of [...queued, ...running]) appendBytes(id, note, at);
      return { task: ownTask(owner, taskId), cancelled: queued.length + running.length };
    }),
    retryTask: write((owner, taskId, maxAttempts) => {
      const task = ownTask(owner, taskId);
      if (task.jobsByState.failed + task.jobsByState.cancelled === 0) throw nothingToRetry(taskId, task.status);
      const at = ms();
      const retried = statements.retryJobs.all({ taskId, maxAttempts, at });
      for (const job of retried) appendBytes(job.id, Buffer.from(retriedNote(job.attempt_nr), 'utf8'), at);
      return { task: ownTask(owner, taskId), retried: retried.length };
    }),
    readJobLog: (id, offset) => {
      const logBytes = statements.jobOwnership.get(id)?.logBytes ?? 0;
      return toLogSlice(statements.logChunks.all(id, offset), offset, logBytes);
    },
    expireLeases: write(() => expireLeases(ms())),
    claimJobsWithSecrets: write((pilot, limit, leaseMs, remote) => {
      const at = ms();
      return claim(pilot, limit, leaseMs, at).map((job) => {
        const names = job.spec.secrets;
        const secrets = names.length === 0 ? [] : ciphertexts(job.owner, names);
        const audit = jobSecretsAudit(job, secrets, pilot, remote);
        if (audit !== null) writeAudit(audit, at);
        return { job, secrets };
      });
    }),
    renewLease: write((id, pilot, claimId, leaseMs) => {
      const at = ms();
      const job = statements.jobOwnership.get(id);
      assertJobUpdatable(id, job, pilot, claimId, now(), { allowCancelled: true });
      if (job.state === 'cancelled') return { leaseExpiresAt: new Date(at), cancel: true };
      statements.renewLease.run({ id, lease: at + leaseMs });
      return { leaseExpiresAt: new Date(at + leaseMs), cancel: false };
    }),
    updateJob: write((id, pilot, claimId, update) => {
      const at = ms();
      const job = statements.jobOwnership.get(id);
      assertJobUpdatable(id, job, pilot, claimId, new Date(at), { allowCancelled: true });
      if (update.appendLog !== undefined && update.appendLog !== '') {
        const ownerRoom =
          update.ownerLogBudget === undefined
            ? undefined
            : update.ownerLogBudget - statements.ownerLogBytes.get(job.owner)!.n;
        const data = fitLogChunk(job.logBytes, update.appendLog, {
          maxLogBytes: update.maxLogBytes,
          ownerRoom,
          ownerBudget: update.ownerLogBudget,
        });
        appendBytes(id, data, at);
      }
      const exitCode = update.exitCode ?? null;
      if (job.state === 'cancelled') {
        // The kill ended the attempt; the pilot's last report only adds the payload's exit code.
        if (update.state !== 'running') statements.recordExitCode.run({ id, attemptNr: job.attemptNr, exitCode });
      } else if (update.state === 'running') {
        setState(id, at, 'running', { keepClaim: true });
      } else if (update.state === 'released') {
        requeue(id, job, 'released', exitCode, at);
      } else {
        endAttempt(id, job.attemptNr, update.state, exitCode, at);
        setState(id, at, update.state, {
          exitCode,
          reason: update.state === 'failed' ? (update.reason ?? failureReason(exitCode)) : null,
          keepClaim: true,
        });
      }
      return toJob(statements.getJob.get(id)!);
    }),
    applyRetention: write((endedBefore, ownerLogBudget) => {
      const expired = statements.expiredJobs.all(endedBefore.getTime());
      for (const { id } of expired) {
        statements.deleteChunks.run(id);
        statements.deleteAttempts.run(id);
        statements.deleteJob.run(id);
      }
      if (expired.length > 0) statements.deleteEmptyTasks.run();
      let logs = 0;
      for (const { owner, n } of statements.overBudget.all(ownerLogBudget)) {
        let total = n;
        for (const job of statements.endedLogsOldestFirst.all(owner)) {
          if (total <= ownerLogBudget) break;
          statements.deleteChunks.run(job.id);
          statements.emptyLog.run(job.id);
          total -= job.log_bytes;
          logs += 1;
        }
      }
      return { jobs: expired.length, logs };
    }),
    appendAudit: write((entry) => writeAudit(entry, ms())),
    listAudit: (filter = {}) =>
      statements.listAudit.all({ actor: filter.actor ?? null, jobId: filter.jobId ?? null }).map(toAudit),
    getMeta: (name) => statements.getMeta.get(name)?.value ?? null,
    setMeta: write((name, value) => {
      statements.setMeta.run(name, value);
    }),
    ping: () => {
      statements.ping.get();
    },
    close: async () => {
      flushPuts();
      endSharedRead();
      await checkpointer.stop();
      db.close();
    },
  };
  return withStoreErrors(methods, sqliteUnavailableReason);
}

function openDatabase(file: string): Database.Database {
  createPrivateFile(file);
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    // WAL makes NORMAL durable against application crashes; FULL only adds power-loss safety per commit.
    db.pragma('synchronous = NORMAL');
    // Checkpoints run in the background (startCheckpointer); a commit checkpoints only past the backstop.
    db.pragma(`wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
    // Deleted ciphertexts are overwritten rather than left in free pages.
    db.pragma('secure_delete = ON');
    db.transaction(() => {
      db.exec(SCHEMA);
      const version = db.pragma('user_version', { simple: true }) as number;
      for (const [index, step] of SQLITE_MIGRATIONS.entries()) {
        if (index < version) continue;
        db.exec(step);
      }
      db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
    }).immediate();
    restrictCompanionFiles(file);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
