import { migratePostgres } from '@panda-secrets/store';
import { openStore, type ServerSettings } from '../../setup.js';
import type { StoreArgs } from '../options.js';
import { serverSettings } from '../settings.js';
import type { Deps, GlobalOptions } from '../spec.js';

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** Applies pending schema migrations and says what was done. */
async function migrate(settings: ServerSettings): Promise<string> {
  if (settings.db !== undefined && POSTGRES_URL.test(settings.db)) {
    const { applied } = await migratePostgres(settings.db);
    return applied.length > 0 ? `applied migrations ${applied.join(', ')}` : 'the schema is up to date';
  }
  // The SQLite adapter brings its schema up to date when it opens.
  const store = await openStore(settings);
  await store.close();
  return 'the SQLite schema is up to date';
}

/** `panda-server migrate`: brings the database's schema up to date and says what it did on stdout. */
export async function runMigrate(deps: Deps, _global: GlobalOptions, options: StoreArgs): Promise<void> {
  deps.stdout.write(`${await migrate(serverSettings(options, deps.env))}\n`);
}
