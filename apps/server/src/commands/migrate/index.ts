import { type StoreArgs, databaseOptions, readStoreArgs } from '../options.js';
import type { CommandSpec } from '../spec.js';

export const migrateCommand: CommandSpec<StoreArgs> = {
  command: 'migrate',
  describe: 'Apply the database schema migrations and exit',
  builder: databaseOptions,
  options: readStoreArgs,
  examples: [['$0 migrate --db postgres://panda@db:5432/panda', 'apply the PostgreSQL schema migrations']],
  load: async () => (await import('./run.js')).runMigrate,
};
