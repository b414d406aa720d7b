import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { toAudit, toJob, toSecret } from './rows.js';
import type { AuditColumns, JobColumns, SecretColumns } from './rows.js';
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
import type { JobOwnership, QuotaUsage, StoreClock, StoreMethods } from './rules.js';
import type { AuditInput, Quota, SecretWrite, Store } from './types.js';

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
  revision TEXT NOT NULL DEFAULT '',
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
 * Columns added after the first release. CREATE TABLE IF NOT EXISTS leaves the table of an older
 * database file as it was, so each missing column is added when the file is opened.
 */
const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; definition: string }> = [
  { table: 'secrets', column: 'revision', definition: "TEXT NOT NULL DEFAULT ''" },
];

function addMissingColumns(db: Database.Database): void {
  for (const { table, column, definition } of ADDED_COLUMNS) {
    const present = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all();
    if (!present.some((row) => row.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
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
 * processes can share the file, every write one immediate transaction, files mode 0600.
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
    allSecrets: db.prepare<[], SecretColumns>('SELECT * FROM secrets ORDER BY owner, key'),
    deleteSecret: db.prepare<[string, string]>('DELETE FROM secrets WHERE owner = ? AND key = ?'),
    deleteOwnerSecrets: db.prepare<[string]>('DELETE FROM secrets WHERE owner = ?'),
    replaceCiphertext: db.prepare(
      `UPDATE secrets SET ciphertext = @ciphertext, key_id = @keyId, revision = @next
       WHERE owner = @owner AND key = @key AND revision = @revision`,
    ),
    insertJob: db.prepare(
      `INSERT INTO jobs (id, owner, spec, state, created_at, updated_at)
       VALUES (@id, @owner, @spec, 'queued', @at, @at) RETURNING *`,
    ),
    getJob: db.prepare<[string], JobColumns>('SELECT * FROM jobs WHERE id = ?'),
    countUnfinishedJobs: db.prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM jobs WHERE owner = ? AND state IN ('queued', 'running')",
    ),
    queuedJobIds: db.prepare<[number], { id: string }>(
      "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at, seq LIMIT ?",
    ),
    claimJob: db.prepare(
      `UPDATE jobs SET state = 'running', pilot = @pilot, claim_id = @claimId, updated_at = @at
       WHERE id = @id RETURNING *`,
    ),
    jobOwnership: db.prepare<[string], JobOwnership>('SELECT state, pilot, claim_id AS claimId, length(log) AS logLength FROM jobs WHERE id = ?'),
    updateJob: db.prepare(
      `UPDATE jobs SET state = @state, exit_code = CASE WHEN @setExitCode THEN @exitCode ELSE exit_code END,
         log = log || @appendLog, updated_at = @at
       WHERE id = @id RETURNING *`,
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

  /** Runs `fn` as one BEGIN IMMEDIATE transaction: the write lock up front, so no upgrade can deadlock. */
  function write<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const transaction = db.transaction(fn);
    return (...args: A) => transaction.immediate(...args);
  }

  /** Upserts an owner's secrets, all or none, after checking the quota for all of them. */
  const putSecrets = write((owner: string, inputs: readonly SecretWrite[], quota: Quota, audit: AuditInput) => {
    assertBatchWithinQuota(inputs, statements.usageExceptKeys.get(owner, JSON.stringify(inputs.map((input) => input.key)))!, quota);
    const at = ms();
    for (const input of inputs) {
      statements.upsertSecret.run({ ...input, owner, at, revision: newRevision() });
      writeAudit({ ...audit, key: input.key }, at);
    }
  });

  const methods: StoreMethods = {
    putSecret: (input, quota, audit) => {
      const { owner, ...write } = input;
      putSecrets(owner, [write], quota, audit);
    },
    putSecrets: (owner, inputs, quota, audit) => putSecrets(owner, inputs, quota, audit),
    getSecrets: (owner, keys) =>
      statements.ownerSecrets.all({ owner, keys: keys === undefined ? null : JSON.stringify(keys) }).map(toSecret),
    deleteSecret: write((owner, key, audit) => {
      for (const candidate of deletionCandidates(key)) {
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
    allSecrets: () => statements.allSecrets.all().map(toSecret),
    replaceCiphertexts: write((updates) =>
      updates.reduce(
        (changed, update) => changed + statements.replaceCiphertext.run({ ...update, next: newRevision() }).changes,
        0,
      ),
    ),
    createJobs: write((owner, specs) => {
      const at = ms();
      return specs.map((spec) =>
        toJob(statements.insertJob.get({ id: newId(), owner, spec: JSON.stringify(spec), at }) as JobColumns),
      );
    }),
    getJob: (id) => {
      const row = statements.getJob.get(id);
      return row === undefined ? null : toJob(row);
    },
    countUnfinishedJobs: (owner) => statements.countUnfinishedJobs.get(owner)?.n ?? 0,
    claimJobs: write((pilot, limit) => {
      const at = ms();
      return statements.queuedJobIds
        .all(claimCount(limit))
        .map(({ id }) => toJob(statements.claimJob.get({ id, pilot, claimId: newId(), at }) as JobColumns));
    }),
    updateJob: write((id, pilot, claimId, update) => {
      const job = statements.jobOwnership.get(id);
      assertJobUpdatable(id, job, pilot, claimId);
      const row = statements.updateJob.get({
        id,
        state: update.state,
        setExitCode: update.exitCode === undefined ? 0 : 1,
        exitCode: update.exitCode ?? null,
        appendLog: fitLogChunk(job?.logLength ?? 0, update.appendLog ?? '', update.maxLogLength),
        at: ms(),
      });
      return toJob(row as JobColumns);
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
    close: () => {
      db.close();
    },
  };
  return withStoreErrors(methods, sqliteUnavailableReason);
}

function openDatabase(file: string): Database.Database {
  createPrivateFile(file);
  const db = new Database(file, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    // WAL makes NORMAL durable against application crashes; FULL only adds power-loss safety per commit.
    db.pragma('synchronous = NORMAL');
    // Deleted ciphertexts are overwritten rather than left in free pages.
    db.pragma('secure_delete = ON');
    db.transaction(() => {
      db.exec(SCHEMA);
      addMissingColumns(db);
    }).immediate();
    restrictCompanionFiles(file);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
