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
export function pandaCall(
  name: string,
  describe: string,
  example: string,
  usageHint?: string,
): CommandSpec<PandaCallOptions> {
  return {
    command: `${name} [args..]`,
    describe,
    examples: [[`$0 ${name}${example === '' ? '' : ` ${example}`}`, describe]],
    builder: (yargs) =>
      yargs.positional('args', {
        type: 'string',
        array: true,
        describe: 'the arguments, taken as the exact strings given',
      }),
    // Words after `--` (values that start with '-') land in `_` after the command name.
    options: (argv) => ({
      name,
      words: [...((argv.args as string[] | undefined) ?? []), ...((argv._ as unknown[]) ?? []).slice(1).map(String)],
    }),
    load: async () => (await import('./run.js')).runPandaCall,
    ...(usageHint === undefined ? {} : { usageHint }),
  };
}

// list_secrets takes no options of its own: JSON, names and metadata are list-secrets' options.
const LIST_HINT =
  'list_secrets takes only full=True; for JSON, names only or metadata use "pbook list-secrets --json" (see pbook list-secrets --help).';

/** PanDA's batch form, `pbook FUNCTION ARGS...`, one command per secrets function. */
export const pandaCallCommands: Array<CommandSpec<PandaCallOptions>> = [
  pandaCall(
    'set_secret',
    "As PanDA's pbook: KEY VALUE, or NAME PATH is_file=True for a file",
    'MY_SECRET random_string',
    DASH_VALUE_HINT,
  ),
  pandaCall(
    'list_secrets',
    "As PanDA's pbook: list your secrets; full=True shows whole values",
    'full=True',
    LIST_HINT,
  ),
  pandaCall('delete_secret', "As PanDA's pbook: delete the secret KEY", 'MY_SECRET', DASH_VALUE_HINT),
  pandaCall('delete_all_secrets', "As PanDA's pbook: delete all your secrets (asks on a terminal)", ''),
];
