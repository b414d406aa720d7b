import { join } from 'node:path';
import { PandaError } from '@panda-secrets/protocol';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import type { StoreClock } from './rules.js';
import type { Store } from './types.js';

export interface CreateStoreOptions extends StoreClock {
  /**
   * Where the data lives: a `postgres://` or `postgresql://` URL, or `sqlite:PATH`
   * (also `sqlite:///abs/path`). Absent or empty: SQLite at `<dataDir>/panda.db`.
   */
  db?: string;
  /** The server's data directory, home of the default SQLite file. */
  dataDir: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
}

/** The file name of the embedded database inside the data directory. */
export const SQLITE_FILE_NAME = 'panda.db';

/**
 * Opens the store `options.db` names: PostgreSQL for a postgres URL, otherwise SQLite.
 * Throws PandaError CONFIG for any other scheme (naming only the scheme: a URL may hold a password).
 *
 * @example
 * await createStore({ dataDir: '.panda-server' });                        // SQLite, .panda-server/panda.db
 * await createStore({ dataDir, db: 'postgresql://panda@db:5432/panda' }); // PostgreSQL
 */
export function createStore(options: CreateStoreOptions): Promise<Store> {
  const { db, dataDir, poolSize, ...clock } = options;
  if (!db) return createSqliteStore({ ...clock, file: join(dataDir, SQLITE_FILE_NAME) });
  if (/^postgres(ql)?:\/\//i.test(db)) return createPostgresStore({ ...clock, url: db, poolSize });
  if (/^sqlite:/i.test(db)) {
    const file = db.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file !== '') return createSqliteStore({ ...clock, file });
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(db)?.[0] ?? 'no scheme';
  return Promise.reject(
    new PandaError('CONFIG', `unsupported database (${scheme}): use postgres://..., postgresql://... or sqlite:PATH`),
  );
}
