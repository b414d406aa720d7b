import type { CommandSpec } from '../spec.js';
import { optionalString } from '@panda-secrets/cli-kit';

export interface SetSecretOptions {
  name: string;
  /** Read the value from this file, `-` for stdin. */
  valueFile?: string;
  /** Store this local file as the secret file `name`. */
  file?: string;
  /** Accept an empty value: without it, an empty value is refused (an Enter pressed by mistake). */
  allowEmpty: boolean;
}

export const setSecretCommand: CommandSpec<SetSecretOptions> = {
  command: 'set-secret <name>',
  describe: 'Store a secret from --value-file, piped stdin or a hidden prompt; --file for a file',
  builder: (yargs) =>
    yargs
      .positional('name', {
        type: 'string',
        describe: 'the environment variable name (with --file: the file name jobs get)',
      })
      .option('value-file', {
        type: 'string',
        requiresArg: true,
        describe: 'read the value from this file (- for stdin), minus one trailing newline',
      })
      .option('file', {
        type: 'string',
        requiresArg: true,
        describe:
          'store this local file (at most 1000 kB, any bytes) as a secret file: for values over the 128 KiB an environment variable can carry, or holding NUL',
      })
      .option('allow-empty', {
        type: 'boolean',
        default: false,
        describe: 'store an empty value (refused otherwise: an Enter at the prompt is no value)',
      })
      .conflicts('value-file', 'file'),
  options: (argv) => {
    const valueFile = optionalString(argv.valueFile);
    const file = optionalString(argv.file);
    return {
      name: String(argv.name),
      allowEmpty: argv.allowEmpty === true,
      ...(valueFile === undefined ? {} : { valueFile }),
      ...(file === undefined ? {} : { file }),
    };
  },
  examples: [
    ['$0 set-secret MY_SECRET', 'type the value at a hidden prompt'],
    ['$0 set-secret MY_SECRET --value-file ./secret.txt', 'read the value from a file'],
    ['printf %s "$VALUE" | $0 set-secret MY_SECRET', 'read the value from stdin'],
    ['$0 set-secret my_secret_file.dat --file ./cert.p12', 'store a local file as the secret file my_secret_file.dat'],
  ],
  load: async () => (await import('./run.js')).runSetSecret,
};
