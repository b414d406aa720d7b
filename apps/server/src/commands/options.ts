import { addVerboseOption, optionalString } from '@panda-secrets/cli-kit';
import type { Argv } from 'yargs';

/**
 * The variable that may hold the key ring itself. It is read from the environment, never through
 * an option: a command line is visible to every local user.
 */
export const KEYRING_VARIABLE = 'PANDA_SERVER_KEYRING';

const DB_DESCRIPTION = 'Database: postgres://user@host/db, or sqlite:PATH (default: SQLite in the data dir)';

/** --data-dir and --verbose, which every command takes. */
export function dataDirOptions(parser: Argv): Argv {
  return addVerboseOption(
    parser.option('data-dir', {
      type: 'string',
      default: './.panda-server',
      describe: 'Directory of the SQLite database, key ring and local issuer key',
    }),
    { describe: 'Print stack traces of errors', short: false },
  );
}

/** Where the secrets are: the data dir, the database and the key ring (serve, rotate-key). */
export function storeOptions(parser: Argv): Argv {
  return dataDirOptions(parser)
    .option('db', { type: 'string', describe: DB_DESCRIPTION })
    .option('keyring-file', {
      type: 'string',
      describe: `Master key ring file (default: DATA_DIR/keyring.json); ${KEYRING_VARIABLE} may hold the key ring itself`,
    });
}

/** The data dir and the database, without the key ring (migrate). */
export function databaseOptions(parser: Argv): Argv {
  return dataDirOptions(parser).option('db', { type: 'string', describe: DB_DESCRIPTION });
}

/** The local token issuer's signing key (serve, token). */
export function issuerOptions(parser: Argv): Argv {
  return parser.option('issuer-key-file', {
    type: 'string',
    describe: 'Signing key of the local token issuer (default: DATA_DIR/issuer-key.json)',
  });
}

/** The options of storeOptions and issuerOptions as given; what a command did not declare is absent. */
export interface StoreArgs {
  dataDir: string;
  db?: string;
  keyringFile?: string;
  issuerKeyFile?: string;
}

/** Reads back what storeOptions, databaseOptions and issuerOptions declared. */
export function readStoreArgs(argv: Record<string, unknown>): StoreArgs {
  const db = optionalString(argv.db);
  const keyringFile = optionalString(argv['keyring-file']);
  const issuerKeyFile = optionalString(argv['issuer-key-file']);
  return {
    dataDir: String(argv['data-dir']),
    ...(db === undefined ? {} : { db }),
    ...(keyringFile === undefined ? {} : { keyringFile }),
    ...(issuerKeyFile === undefined ? {} : { issuerKeyFile }),
  };
}

/** A parsed number option that may be absent (NaN when it was no number, for the command to refuse). */
export function optionalNumber(value: unknown): number | undefined {
  return value === undefined ? undefined : Number(value);
}
