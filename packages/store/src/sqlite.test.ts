import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createSqliteStore } from './sqlite.js';
import { describeStoreConformance, fakeCiphertext, testClock } from './testing/conformance.js';

const root = mkdtempSync(join(tmpdir(), 'panda-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let files = 0;
let file = '';

describeStoreConformance('SQLite store', {
  async reset() {
    file = join(root, `conformance-${++files}`, 'panda.db');
  },
  open: (clock) => createSqliteStore({ ...clock, file }),
});

describe('SQLite store: a database file from an older version', () => {
  it('adds the revision column to an existing secrets table and rotates its rows by compare-and-set', async () => {
    const path = join(root, 'old-schema', 'panda.db');
    mkdirSync(dirname(path), { recursive: true });
    const old = new Database(path);
    old.exec(`CREATE TABLE secrets (owner TEXT NOT NULL, key TEXT NOT NULL, ciphertext TEXT NOT NULL, key_id TEXT NOT NULL,
      size INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (owner, key))`);
    old.prepare('INSERT INTO secrets VALUES (?, ?, ?, ?, ?, ?, ?)').run('alice', 'A', fakeCiphertext('a'), 'k1', 1, 0, 0);
    old.prepare('INSERT INTO secrets VALUES (?, ?, ?, ?, ?, ?, ?)').run('alice', 'B', fakeCiphertext('b'), 'k1', 1, 0, 0);
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
      const rotate = (s: typeof a) => ({ owner: 'alice', key: s!.key, ciphertext: fakeCiphertext('rotated'), keyId: 'k2', revision: s!.revision });
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

  it('creates the database and its WAL files owner-only', async () => {
    const path = join(root, 'modes', 'panda.db');
    const store = await createSqliteStore({ file: path });
    try {
      await store.putSecret(
        { owner: 'alice', key: 'K', ciphertext: fakeCiphertext('k'), keyId: 'k1', size: 1 },
        { maxSecrets: 10, maxTotalBytes: 100 },
        { actor: 'alice', action: 'set', key: 'K' },
      );
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
      [path, `${path}-wal`].map((p) => (statSync(p, { throwIfNoEntry: false }) ? readFileSync(p).toString('latin1') : '')).join('');

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

  it('reports a file it cannot create as a store error', async () => {
    const blocker = join(root, 'blocker');
    await (await createSqliteStore({ file: join(blocker, 'panda.db') })).close();
    await expect(createSqliteStore({ file: join(blocker, 'panda.db', 'nested.db') })).rejects.toMatchObject({
      name: 'PandaError',
      code: 'SERVER_ERROR',
    });
  });
});
