import type { CommandSpec } from '../spec.js';
import { optionalString } from '@panda-secrets/cli-kit';

export interface ShellOptions {
  /** Statements to run (`-c`), separated by `;` or newlines. */
  code?: string;
  /** Enter the shell after running `code`. */
  interactive: boolean;
}

export const shellCommand: CommandSpec<ShellOptions> = {
  command: '$0',
  describe: 'The pbook shell: a >>> prompt for set_secret(...), list_secrets(), help()',
  builder: (yargs) =>
    yargs
      .option('c', {
        type: 'string',
        requiresArg: true,
        describe: 'run shell statements (separated by ; or newlines) and exit',
      })
      .option('interactive', {
        alias: 'i',
        type: 'boolean',
        default: false,
        describe: 'enter the shell after -c',
      }),
  options: (argv) => {
    const code = optionalString(argv.c);
    return code === undefined
      ? { interactive: argv.interactive === true }
      : { code, interactive: argv.interactive === true };
  },
  examples: [
    ['$0', 'open the >>> shell'],
    ["$0 -c \"set_secret('MY_SECRET', 'random_string'); list_secrets()\"", 'run statements and exit'],
    ['$0 list-secrets --json', 'list your secrets as JSON'],
    ['$0 completion bash >> ~/.bashrc', 'Tab completion of commands, options and your secret names (or zsh)'],
  ],
  load: async () => (await import('./run.js')).runShell,
};
