import type { CommandSpec } from '../spec.js';
import { optionalString } from '../spec.js';

export interface SetSecretOptions {
  name: string;
  /** Read the value from this file, `-` for stdin. */
  valueFile?: string;
  /** Store this local file as the secret file `name`. */
  file?: string;
}

export const setSecretCommand: CommandSpec<SetSecretOptions> = {
  command: 'set-secret <name>',
  describe: 'Store a secret from --value-file, piped stdin or a hidden prompt; --file for a file',
  builder: (yargs) =>
    yargs
      .positional('name', { type: 'string', describe: 'the environment variable name (with --file: the file name jobs get)' })
      .option('value-file', { type: 'string', requiresArg: true, describe: 'read the value from this file (- for stdin), minus one trailing newline' })
      .option('file', { type: 'string', requiresArg: true, describe: 'store this local file (at most 1000 kB, any bytes) as a secret file: for values over the 128 KiB an environment variable can carry, or holding NUL' })
      .conflicts('value-file', 'file'),
  options: (argv) => {
    const valueFile = optionalString(argv.valueFile);
    const file = optionalString(argv.file);
    return {
      name: String(argv.name),
      ...(valueFile === undefined ? {} : { valueFile }),
      ...(file === undefined ? {} : { file }),
    };
  },
  load: async () => (await import('./run.js')).runSetSecret,
};
