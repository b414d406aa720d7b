import type { CommandSpec } from '../spec.js';

export interface DeleteAllSecretsOptions {
  yes: boolean;
}

export const deleteAllSecretsCommand: CommandSpec<DeleteAllSecretsOptions> = {
  command: 'delete-all-secrets',
  describe: 'Delete all your secrets: asks on a terminal, else needs --yes',
  builder: (yargs) => yargs.option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'do not ask' }),
  options: (argv) => ({ yes: argv.yes === true }),
  examples: [
    ['$0 delete-all-secrets', 'asks "Delete all your secrets? [y/N]" on a terminal'],
    ['$0 delete-all-secrets --yes', 'in a script: delete without asking'],
  ],
  load: async () => (await import('./run.js')).runDeleteAllSecrets,
};
