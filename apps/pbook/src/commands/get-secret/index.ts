import type { CommandSpec } from '../spec.js';
import { optionalString } from '@panda-secrets/cli-kit';

export interface GetSecretOptions {
  name: string;
  /** Write the value (a file secret's bytes) to this file, mode 0600, instead of stdout. */
  output?: string;
}

export const getSecretCommand: CommandSpec<GetSecretOptions> = {
  command: 'get-secret <name>',
  describe: "Print one secret's value exactly as stored (a secret file's bytes), for scripts",
  builder: (yargs) =>
    yargs
      .positional('name', {
        type: 'string',
        describe: 'the secret name: an env secret, else the secret file of that name',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        requiresArg: true,
        describe: 'write it to this file (mode 0600; a symbolic link is refused) instead of stdout',
      }),
  options: (argv) => {
    const output = optionalString(argv.output);
    return { name: String(argv.name), ...(output === undefined ? {} : { output }) };
  },
  examples: [
    ['export MY_SECRET="$($0 get-secret MY_SECRET)"', 'the value, exactly as stored'],
    ['$0 get-secret my_secret_file.dat --output ./secret_file', "a secret file's bytes, into a 0600 file"],
  ],
  load: async () => (await import('./run.js')).runGetSecret,
};
