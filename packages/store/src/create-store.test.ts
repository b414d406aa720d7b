import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { SQLITE_FILE_NAME, createStore } from './index.js';
import type { Store } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'panda-create-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function usable(store: Store): Promise<void> {
  try {
    await store.setMeta('probe', 'ok');
    expect(await store.getMeta('probe')).toBe('ok');
  } finally {
    await store.close();
  }
}

describe('createStore', () => {
  it.each([undefined, ''])('opens SQLite in the data directory when db is %j', async (db) => {
    const dataDir = join(root, `default-${String(db)}`);
    await usable(await createStore({ dataDir, db }));
    expect(existsSync(join(dataDir, SQLITE_FILE_NAME))).toBe(true);
  });

  it.each([
    ['sqlite:', 'plain.db'],
    ['sqlite://', 'url.db'],
  ])('opens SQLite at the path of a %s URL', async (prefix, name) => {
    const dataDir = join(root, `unused-${name}`);
    const file = join(root, 'elsewhere', name);
    await usable(await createStore({ dataDir, db: `${prefix}${file}` }));
    expect(existsSync(file)).toBe(true);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses other databases naming only the scheme, never a password in the URL', async () => {
    const refusal = createStore({ dataDir: root, db: 'mysql://panda:hunter2@db/panda' });
    await expect(refusal).rejects.toMatchObject({
      code: 'CONFIG',
      message: 'unsupported database (mysql:): use postgres://..., postgresql://... or sqlite:PATH',
    });
    await expect(createStore({ dataDir: root, db: 'sqlite:' })).rejects.toMatchObject({ code: 'CONFIG' });
  });
});
