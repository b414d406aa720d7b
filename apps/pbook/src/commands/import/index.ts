import type { CommandSpec } from '../spec.js';

export type ImportFormat = 'dotenv' | 'json';

export interface ImportOptions {
  file: string;
  /** How the file is read; by default JSON when it starts with `[`, else dotenv. */
  format?: ImportFormat;
  /** Show what would change and change nothing. */
  dryRun: boolean;
}

export const importCommand: CommandSpec<ImportOptions> = {
  command: 'import <file>',
  describe: 'Set every secret of a .env file, or of the JSON list-secrets --json --full prints, all or none',
  builder: (yargs) =>
    yargs
      .positional('file', {
        type: 'string',
        describe:
          'a .env file (KEY=value lines, as the dotenv package reads them) or a list-secrets --json --full backup',
      })
      .option('format', {
        choices: ['dotenv', 'json'],
        describe: 'how to read the file (default: json when it starts with "[", else dotenv)',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'show what would be added or changed, and change nothing',
      }),
  options: (argv) => ({
    file: String(argv.file),
    ...(argv.format === undefined ? {} : { format: argv.format as ImportFormat }),
    dryRun: argv.dryRun === true,
  }),
  examples: [
    ['$0 import .env --dry-run', 'show which secrets a .env file would add or change'],
    ['$0 import .env', 'set them all in one request: all of them, or none if one is refused'],
    ['$0 list-secrets --json --full > backup.json && $0 import backup.json', 'back up, then restore'],
  ],
  load: async () => (await import('./run.js')).runImport,
};
