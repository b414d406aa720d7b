import type { CommandSpec } from '../spec.js';

export interface ListSecretsOptions {
  full: boolean;
  json: boolean;
}

export const listSecretsCommand: CommandSpec<ListSecretsOptions> = {
  command: 'list-secrets',
  describe: 'List your secrets: a table on a terminal, tab-separated rows when piped',
  builder: (yargs) =>
    yargs
      .option('full', { type: 'boolean', default: false, describe: 'show whole values (otherwise cut at 50 characters)' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON array of {key, type, value}' }),
  options: (argv) => ({ full: argv.full === true, json: argv.json === true }),
  examples: [
    ['$0 list-secrets', 'a table on a terminal, tab-separated rows when piped'],
    ['$0 list-secrets --json --full > backup.json', 'every secret with its whole value, as JSON'],
  ],
  load: async () => (await import('./run.js')).runListSecrets,
};
