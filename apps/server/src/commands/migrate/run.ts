import { migratePostgres } from '@panda-secrets/store';
import { openStore, type ServerSettings } from '../../setup.js';

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** Applies pending schema migrations and says what was done. */
export async function runMigrate(settings: ServerSettings): Promise<string> {
  if (settings.db !== undefined && POSTGRES_URL.test(settings.db)) {
    const { applied } = await migratePostgres(settings.db);
    return applied.length > 0 ? `applied migrations ${applied.join(', ')}` : 'the schema is up to date';
  }
  // The SQLite adapter brings its schema up to date when it opens.
  const store = await openStore(settings);
  await store.close();
  return 'the SQLite schema is up to date';
}
