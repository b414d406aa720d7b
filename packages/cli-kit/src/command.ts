import type { Argv } from 'yargs';

/** Command lines with what each does, under "Examples:" in a help; `$0` stands for the program. */
export type Examples = ReadonlyArray<readonly [command: string, meaning: string]>;

/**
 * A command's work: everything it needs comes in through `deps` (the program's, with its
 * memoised `client()`), the program-wide options and its own. It returns its exit code, or
 * nothing for 0; an error it throws becomes the exit code of its code (see runProgram).
 *
 * Written as a method's type so that one list holds commands whose options differ: method
 * parameters are compared both ways, and runProgram only ever hands a command its own options.
 */
export type CommandRunner<Deps, Global, Options> = {
  run(deps: Deps, global: Global, options: Options): Promise<number> | Promise<void>;
}['run'];

/**
 * A command as runProgram runs it: yargs parses with `builder`, `options` turns what it parsed
 * into the command's options type (and checks what yargs cannot, a USAGE PandaError being a wrong
 * command line), and `load` imports the run function only when the command runs, so that `--help`
 * loads little. The run function is tested by calling it with fake deps.
 *
 * @example
 * export const listCommand: CommandSpec<Deps, GlobalOptions, { json: boolean }> = {
 *   command: 'list',
 *   describe: 'List the things',
 *   builder: (parser) => parser.option('json', { type: 'boolean', default: false }),
 *   options: (argv) => ({ json: argv.json === true }),
 *   examples: [['$0 list --json', 'the things as JSON']],
 *   load: async () => (await import('./run.js')).runList,
 * };
 */
export interface CommandSpec<Deps, Global, Options> {
  /**
   * The command and its positionals as yargs reads them (`set-secret <name>`), or several names
   * (`['serve', '$0']`); `$0` is the default command. A program whose only command is `$0` has
   * no commands of its own: its options are this command's and its usage line the program's.
   */
  command: string | readonly string[];
  /** The command's line in the program's list of commands. */
  describe: string;
  /** Declares the command's own options and positionals. */
  builder(parser: Argv): Argv;
  /** The command's options from the parsed arguments: parsing only, no work. */
  options(argv: Record<string, unknown>): Options;
  load(): Promise<CommandRunner<Deps, Global, Options>>;
  /** Command lines with what each does, under "Examples:" in the command's help. */
  examples: Examples;
  /** A line added under the error when this command's command line is refused. */
  usageHint?: string;
}

/** The names a command is typed by (without positionals); none for a default-only command. */
export function commandNames(spec: Pick<CommandSpec<unknown, unknown, unknown>, 'command'>): string[] {
  return [spec.command]
    .flat()
    .map((command) => command.split(' ')[0] ?? '')
    .filter((name) => name !== '' && name !== '$0');
}

/** A parsed string option that may be absent. */
export function optionalString(value: unknown): string | undefined {
  return value === undefined ? undefined : String(value);
}
