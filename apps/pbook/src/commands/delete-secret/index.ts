import type { CommandSpec } from '../spec.js';

export interface DeleteSecretOptions {
  name: string;
}

export const deleteSecretCommand: CommandSpec<DeleteSecretOptions> = {
  command: 'delete-secret <name>',
  describe: 'Delete one secret, env or file (exit 3 if there is none)',
  builder: (yargs) => yargs.positional('name', { type: 'string', describe: 'the secret name' }),
  options: (argv) => ({ name: String(argv.name) }),
  examples: [['$0 delete-secret MY_SECRET', 'delete the secret MY_SECRET (or the secret file of that name)']],
  load: async () => (await import('./run.js')).runDeleteSecret,
};
