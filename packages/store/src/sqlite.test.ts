import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createSqliteStore } from './sqlite.js';
import { describeStoreConformance, fakeCiphertext, testClock } from './testing/conformance.js';
import type { Store } from './types.js';

const root = mkdtempSync(join(tmpdir(), 'panda-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let files = 0;
let file = '';

describeStoreConformance('SQLite store', {
  async reset() {
    file = join(root, `conformance-${++files}`, 'panda.db');
  },
  open: (clock) => createSqliteStore({ ...clock, file }),
  async refuseAudit() {
    const db = new Database(file);
    db.exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit refused'); END");
    return async () => {
      db.exec('DROP TRIGGER refuse_audit');
      db.close();
    };
  },
});

describe('SQLite store: a database file from an older version', () => {
  it('adds the revision column to an existing secrets table and rotates its rows by compare-and-set', async () => {
    const path = join(root, 'old-schema', 'panda.db');
    mkdirSync(dirname(path), { recursive: true });
    const old = new Database(path);
    old.exec(`CREATE TABLE secrets (owner TEXT NOT NULL, key TEXT NOT NULL, ciphertext TEXT NOT NULL, key_id TEXT NOT NULL,
      size INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (owner, key))`);
    old
      .prepare('INSERT INTO secrets VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run('alice', 'A', fakeCiphertext('a'), 'k1', 1, 0, 0);
    old
      .prepare('INSERT INTO secrets VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run('alice', 'B', fakeCiphertext('b'), 'k1', 1, 0, 0);
    old.close();

    const store = await createSqliteStore({ ...testClock(), file: path });
    try {
      const [a, b] = await store.allSecrets();
      expect([a!.revision, b!.revision]).toEqual(['', '']);
      await store.putSecret(
        { owner: 'alice', key: 'B', ciphertext: fakeCiphertext('b2'), keyId: 'k1', size: 2 },
        { maxSecrets: 10, maxTotalBytes: 100 },
        { actor: 'alice', action: 'set', key: 'B' },
      );
      const rotate = (s: typeof a) => ({
        owner: 'alice',
        key: s!.key,
        ciphertext: fakeCiphertext('rotated'),
        keyId: 'k2',
        revision: s!.revision,
      });
      expect(await store.replaceCiphertexts([rotate(a), rotate(b)])).toBe(1);
      expect((await store.allSecrets()).map((s) => [s.key, s.ciphertext])).toEqual([
        ['A', fakeCiphertext('rotated')],
        ['B', fakeCiphertext('b2')],
      ]);
    } finally {
      await store.close();
    }
    // Opening it again finds the column there and changes nothing.
    await (await createSqliteStore({ file: path })).close();
  });
});

describe('SQLite store: the file', () => {
  const modeOf = (path: string) => statSync(path).mode & 0o777;
  /** Stores alice's secret K. */
  const putK = (store: Store) =>
    store.putSecret(
      { owner: 'alice', key: 'K', ciphertext: fakeCiphertext('k'), keyId: 'k1', size: 1 },
      { maxSecrets: 10, maxTotalBytes: 100 },
      { actor: 'alice', action: 'set', key: 'K' },
    );

  it('creates the database and its WAL files owner-only', async () => {
    const path = join(root, 'modes', 'panda.db');
    const store = await createSqliteStore({ file: path });
    try {
      await putK(store);
      expect([path, `${path}-wal`, `${path}-shm`].map(modeOf)).toEqual([0o600, 0o600, 0o600]);
      expect(modeOf(join(root, 'modes'))).toBe(0o700);
    } finally {
      await store.close();
    }
  });

  it('holds the ciphertext as given, keeps it across a reopen, and wipes it on delete', async () => {
    const path = join(root, 'contents', 'panda.db');
    const marker = fakeCiphertext('MARKER-7f3a9c');
    const onDisk = () =>
      [path, `${path}-wal`]
        .map((p) => (statSync(p, { throwIfNoEntry: false }) ? readFileSync(p).toString('latin1') : ''))
        .join('');

    const first = await createSqliteStore({ ...testClock(), file: path });
    await first.putSecret(
      { owner: 'alice', key: 'TOKEN', ciphertext: marker, keyId: 'k1', size: 6 },
      { maxSecrets: 10, maxTotalBytes: 100 },
      { actor: 'alice', action: 'set', key: 'TOKEN', remote: '192.0.2.7' },
    );
    await first.close();
    expect(onDisk().split(marker).length - 1).toBe(1);

    const second = await createSqliteStore({ ...testClock(), file: path });
    expect((await second.getSecrets('alice')).map((s) => s.ciphertext)).toEqual([marker]);
    await second.deleteSecret('alice', 'TOKEN', { actor: 'alice', action: 'delete', key: 'TOKEN' });
    await second.close();
    expect(onDisk()).not.toContain('MARKER-7f3a9c');
  });

  it("shares one read transaction among a turn's reads of ciphertexts, ended by a write and seeing it", async () => {
    const path = join(root, 'shared-read', 'panda.db');
    const store = await createSqliteStore({ ...testClock(), file: path });
    const other = new Database(path);
    try {
      await putK(store);
      const keys = async (read: Promise<Array<{ key: string }>>) => (await read).map((secret) => secret.key);
      // Called without waiting, so all of them run in this turn of the event loop, in this order.
      const first = store.getCiphertexts('alice');
      other.exec("DELETE FROM secrets WHERE key = 'K'");
      const sameTurn = store.getCiphertexts('alice');
      const deleted = store.deleteAllSecrets('alice', { actor: 'alice', action: 'delete_all', key: null });
      const afterWrite = store.getCiphertexts('alice');
      expect(await keys(first)).toEqual(['K']);
      // Another connection's commit during the turn is seen from the next turn on.
      expect(await keys(sameTurn)).toEqual(['K']);
      expect(await deleted).toBe(0);
      expect(await keys(afterWrite)).toEqual([]);
      await putK(store);
      expect(await keys(store.getCiphertexts('alice'))).toEqual(['K']);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('copies the WAL into the database file in the background, not in a commit', async () => {
    const path = join(root, 'checkpoint', 'panda.db');
    const copy = join(root, 'checkpoint', 'copy.db');
    /** The keys the database file itself holds, without its WAL. */
    const keysInDatabaseFile = (): string[] => {
      copyFileSync(path, copy);
      const db = new Database(copy);
      try {
        const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'secrets'").get() as {
          n: number;
        };
        if (tables.n === 0) return [];
        return (db.prepare('SELECT key FROM secrets').all() as Array<{ key: string }>).map((row) => row.key);
      } finally {
        db.close();
      }
    };
    const store = await createSqliteStore({ file: path });
    try {
      // One small commit is far below the WAL size at which a commit would copy the WAL itself.
      await putK(store);
      for (const deadline = Date.now() + 10_000; Date.now() < deadline && keysInDatabaseFile().length === 0; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(keysInDatabaseFile()).toEqual(['K']);
    } finally {
      await store.close();
    }
  });

  it('reports a file it cannot create as a store error', async () => {
    const blocker = join(root, 'blocker');
    await (await createSqliteStore({ file: join(blocker, 'panda.db') })).close();
    await expect(createSqliteStore({ file: join(blocker, 'panda.db', 'nested.db') })).rejects.toMatchObject({
      name: 'PandaError',
      code: 'SERVER_ERROR',
    });
  });

  it('upgrades a database file of the first schema in place, keeping its jobs as tasks of their own', async () => {
    const path = join(root, 'upgrade', 'panda.db');
    await (await createSqliteStore({ file: join(root, 'upgrade', 'unused.db') })).close();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, spec TEXT NOT NULL,
        state TEXT NOT NULL, exit_code INTEGER, pilot TEXT, claim_id TEXT, log TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      INSERT INTO jobs (id, owner, spec, state, exit_code, pilot, claim_id, log, created_at, updated_at) VALUES
        ('old-done', 'alice', '{"exec":"echo a","outDS":"user.alice.a","secrets":[]}', 'finished', 0, 'p', 'c1', 'done é
', 1000, 2000),
        ('old-stuck', 'alice', '{"exec":"sleep 9","outDS":"user.alice.b","secrets":[]}', 'running', NULL, 'p', 'c2', '', 3000, 4000),
        ('old-queued', 'bob', '{"exec":"true","outDS":"user.bob.c","secrets":[]}', 'queued', NULL, NULL, NULL, '', 5000, 5000);
    `);
    old.close();

    const store = await createSqliteStore({ ...testClock(), file: path });
    try {
      expect(await store.getJob('old-done')).toMatchObject({
        state: 'finished',
        exitCode: 0,
        attemptNr: 1,
        jobIndex: 1,
        logBytes: 8,
      });
      expect(await store.readJobLog('old-done', 0)).toEqual({ log: 'done é\n', nextOffset: 8 });
      const tasks = await store.listTasks('alice');
      expect(tasks.map((task) => [task.exec, task.status, task.nJobs])).toEqual([
        ['sleep 9', 'running', 1],
        ['echo a', 'finished', 1],
      ]);
      expect((await store.getTask('alice', tasks[1]!.taskId))!.jobs[0]!.attempts).toEqual([
        {
          jobId: 'old-done',
          attemptNr: 1,
          pilot: 'p',
          startedAt: new Date(1000),
          endedAt: new Date(2000),
          outcome: 'finished',
          exitCode: 0,
        },
      ]);
      // The job the old schema left running for ever is lost at once and queued again.
      expect(await store.expireLeases()).toBe(1);
      expect(await store.getJob('old-stuck')).toMatchObject({ state: 'queued', attemptNr: 1 });
      const next = await store.createTask('bob', [{ exec: 'x', outDS: 'user.bob.d', secrets: [] }], {
        maxUnfinishedJobs: 10,
        maxAttempts: 3,
      });
      expect(next.taskId).toBe(4);
      expect(await store.countUnfinishedJobs('bob')).toBe(2);
    } finally {
      await store.close();
    }
    // Opening it again applies nothing twice.
    await (await createSqliteStore({ file: path })).close();
  });
});
