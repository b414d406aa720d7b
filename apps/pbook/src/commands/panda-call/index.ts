import type { CommandSpec } from '../spec.js';

export interface PandaCallOptions {
  /** The shell function to call. */
  name: string;
  /** Its arguments as typed: exact strings, apart from bool parameters. */
  words: string[];
}

// With short option groups off, yargs takes any word that starts with '-' for an option, and
// these commands' words are often values.
const DASH_VALUE_HINT = `A value that starts with '-' needs '--' before it, e.g. "pbook set_secret NAME -- -value".`;

/** The batch-form command `pbook NAME ARGS...` of the shell function NAME. */
export function pandaCall(name: string, describe: string): CommandSpec<PandaCallOptions> {
  return {
    command: `${name} [args..]`,
    describe,
    builder: (yargs) =>
      yargs.positional('args', { type: 'string', array: true, describe: 'the arguments, taken as the exact strings given' }),
    // Words after `--` (values that start with '-') land in `_` after the command name.
    options: (argv) => ({
      name,
      words: [...((argv.args as string[] | undefined) ?? []), ...((argv._ as unknown[]) ?? []).slice(1).map(String)],
    }),
    load: async () => (await import('./run.js')).runPandaCall,
    usageHint: DASH_VALUE_HINT,
  };
}

/** PanDA's batch form, `pbook FUNCTION ARGS...`, one command per secrets function. */
export const pandaCallCommands: Array<CommandSpec<PandaCallOptions>> = [
  pandaCall('set_secret', "As PanDA's pbook: KEY VALUE, or NAME PATH is_file=True for a file"),
  pandaCall('list_secrets', "As PanDA's pbook: list your secrets; full=True shows whole values"),
  pandaCall('delete_secret', "As PanDA's pbook: delete the secret KEY"),
  pandaCall('delete_all_secrets', "As PanDA's pbook: delete all your secrets without asking"),
];
