import type { CommandSpec } from '../spec.js';

export interface WhoAmIOptions {
  json: boolean;
}

export const whoamiCommand: CommandSpec<WhoAmIOptions> = {
  command: 'whoami',
  describe: 'Show who your token says you are, its groups and when it expires',
  builder: (yargs) => yargs.option('json', { type: 'boolean', default: false, describe: 'print a JSON object' }),
  options: (argv) => ({ json: argv.json === true }),
  examples: [
    ['$0 whoami', 'who your token says you are, its groups and when it expires'],
    ['$0 whoami --json', 'the same as a JSON object'],
  ],
  load: async () => (await import('./run.js')).runWhoAmI,
};
