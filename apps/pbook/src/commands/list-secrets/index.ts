import type { CommandSpec } from '../spec.js';

export interface ListSecretsOptions {
  full: boolean;
  json: boolean;
  names: boolean;
}

export const listSecretsCommand: CommandSpec<ListSecretsOptions> = {
  command: 'list-secrets',
  describe: 'List your secrets with their size and last update: a table on a terminal, tab-separated rows when piped',
  builder: (yargs) =>
    yargs
      .option('full', {
        type: 'boolean',
        default: false,
        describe: 'show whole values in the table and rows (otherwise cut at 50 characters; JSON is always whole)',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print a JSON array of {key, type, value, size, updatedAt}',
      })
      .option('names', {
        type: 'boolean',
        default: false,
        describe: 'print the names only, one a line (with --json: no values); no value is fetched',
      }),
  options: (argv) => ({ full: argv.full === true, json: argv.json === true, names: argv.names === true }),
  examples: [
    ['$0 list-secrets', 'a table on a terminal, tab-separated rows when piped'],
    ['$0 list-secrets --names', 'the names only, one a line'],
    [
      '$0 list-secrets --json --full > backup.json',
      'every secret with its whole value, as JSON (pbook import restores it)',
    ],
  ],
  load: async () => (await import('./run.js')).runListSecrets,
};
