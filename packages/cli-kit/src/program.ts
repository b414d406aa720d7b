import yargs from 'yargs';
import type { Argv } from 'yargs';
import { ExitCode, PandaError, exitCodeFor, isPandaError } from '@panda-secrets/protocol';
import { type CommandSpec, commandNames } from './command.js';
import { completionRequest, completionScript, completionShell, optionsFor } from './completion.js';
import { declaredOptions } from './declared-options.js';
import { examplesText, wrapHelp } from './help.js';
import { type ClientDeps, lazyClient } from './lazy-client.js';
import { closestWord } from './suggest.js';

/** Where a program writes: results to stdout, messages and errors to stderr. */
export interface OutputStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** What every program writes to and reads its settings from. */
export interface ProgramIo extends OutputStreams {
  env: Readonly<Record<string, string | undefined>>;
}

/** How a program's command line is parsed and explained in its help. */
export interface ParserSettings {
  /** The name help shows and each error line starts with: `prun: <message>`. */
  name: string;
  version: string;
  /** The usage line, `$0` standing for the name; without it yargs lists the commands. */
  usage?: string;
  /** The widest help is wrapped to; on a narrower terminal, its width. */
  wrap: number;
  /** The text under every command's help (and examples), see epilogue(). */
  epilogue: string;
  /** Whether -h shows the help as --help does. Default true. */
  shortHelp?: boolean;
  /**
   * Each option of the command being run may also be given as the variable PREFIX_OPTION
   * (`PANDA_SERVER_DATA_DIR` for --data-dir); the command line wins. A variable that is no
   * option of that command is left alone, so one environment serves every command.
   */
  envPrefix?: string;
  /** Declares the program-wide options; help lists them in this order, then --help and --version, then the command's. */
  options(parser: Argv): Argv;
}

/**
 * A command line program as runProgram runs it: its parser's settings, its commands, and how its
 * commands get their client.
 */
export interface Program<Deps, Global, Client = never> extends ParserSettings {
  /**
   * The commands, each run with the program's deps and a memoised `client()`. A program whose only
   * command is `$0` has no commands of its own (its usage line says how to call it).
   */
  commands: ReadonlyArray<CommandSpec<Deps & ClientDeps<Client>, Global, unknown>>;
  /** The program-wide options from the parsed arguments, for every command. */
  global(argv: Record<string, unknown>): Global;
  /** Makes the API client, on a command's first call of `deps.client()`. */
  connect?(deps: Deps, global: Global): Promise<Client>;
  /**
   * Values to offer for the word being completed (`current`) after `words`, besides commands and
   * options: pbook offers the names of the user's secrets. Never runs a command.
   */
  complete?(words: readonly string[], current: string): Promise<string[]>;
}

/** Of a command, what its parser needs. */
type CommandLine = Pick<
  CommandSpec<unknown, unknown, unknown>,
  'command' | 'describe' | 'builder' | 'examples' | 'usageHint'
>;

type ParseResult = { argv: Record<string, unknown> } | { output: string };

/** What yargs made of a command line: its error, what it parsed (also when it refused it), what it would print. */
interface YargsParse {
  error: Error | undefined;
  argv: Record<string, unknown> | undefined;
  output: string;
}

/** Parses without letting yargs print or exit. */
function parseQuietly(parser: Argv, args: readonly string[]): Promise<YargsParse> {
  return new Promise((resolve) => {
    parser.parse([...args], {}, (failure, parsed, text) =>
      resolve({ error: failure ?? undefined, argv: parsed as Record<string, unknown> | undefined, output: text }),
    );
  });
}

/**
 * Parses without letting yargs print or exit: --help and --version come back as `output`. With
 * `commands`, an unknown first word is reported by name as an unknown command.
 */
export async function parseArguments(
  parser: Argv,
  args: readonly string[],
  commands?: readonly string[],
): Promise<ParseResult> {
  const { error, argv, output } = await parseQuietly(parser, args);
  if (error !== undefined) throw usageError(error, args, commands);
  return output === '' ? { argv: argv ?? {} } : { output };
}

const UNKNOWN_ARGUMENTS = /^Unknown arguments?: (.*)$/s;
/** One line of yargs' "Invalid values:" error: an option given a value outside its choices. */
const INVALID_CHOICE = /^\s*Argument: (\S+), Given: .*, Choices: (.*)$/;

/**
 * yargs' "Invalid values" error (a value outside an option's choices) as a USAGE message naming
 * each option and its choices, without the value given: like a stray word, it may be a secret
 * typed in the wrong place.
 */
function invalidChoices(message: string): string | undefined {
  const [first, ...lines] = message.split('\n');
  if (first !== 'Invalid values:') return undefined;
  const parts = lines.map((line) => INVALID_CHOICE.exec(line)).filter((match) => match !== null);
  if (parts.length === 0) return undefined;
  return parts
    .map(([, name = '', choices = '']) => `${name.length === 1 ? '-' : '--'}${name} takes one of ${choices}`)
    .join('; ');
}

/**
 * yargs' parse error as a USAGE error. yargs quotes unknown arguments, and a stray positional is
 * often a secret value typed where it does not belong: unknown options are named, stray words
 * only counted, and the yargs error (which quotes them) is not kept as the cause.
 */
function usageError(error: Error, args: readonly string[], commands: readonly string[] | undefined): PandaError {
  const choices = invalidChoices(error.message);
  if (choices !== undefined) return new PandaError('USAGE', `${choices} (the value given is not shown)`);
  const unknown = UNKNOWN_ARGUMENTS.exec(error.message);
  if (unknown === null) return new PandaError('USAGE', error.message, { cause: error });
  const options = new Set(args.filter((arg) => arg.startsWith('-')).map((arg) => arg.replace(/^-+/, '').split('=')[0]));
  const command = commands !== undefined ? args.find((arg) => !arg.startsWith('-')) : undefined;
  let words = unknown[1]?.split(', ') ?? [];
  // A command typed twice (`serve serve`) is a stray word, not an unknown command.
  const unknownCommand = command !== undefined && words[0] === command && !commands?.includes(command);
  if (unknownCommand) words = words.slice(1);
  const named = words.filter((word) => options.has(word)).map((word) => (word.length === 1 ? `-${word}` : `--${word}`));
  const stray = words.length - named.length;
  // A mistyped command is offered its nearest command; a word far from every command may be a
  // secret value and is not echoed back in a suggestion.
  const suggestion = unknownCommand && command !== undefined ? closestWord(command, commands ?? []) : undefined;
  const parts = [
    ...(unknownCommand
      ? [
          `unknown command ${JSON.stringify(command)}${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`,
        ]
      : []),
    ...(named.length > 0 ? [`unknown option${named.length > 1 ? 's' : ''} ${named.join(', ')}`] : []),
    ...(stray > 0
      ? [
          `${stray} unexpected argument${stray > 1 ? 's' : ''} (not shown, as ${stray > 1 ? 'they' : 'it'} may hold a secret)`,
        ]
      : []),
  ];
  return new PandaError('USAGE', parts.join('; '));
}

function describeCauses(error: Error): string {
  let text = '';
  // A cause chain can loop back on itself; each error is shown once.
  const seen = new Set<unknown>([error]);
  for (let cause = error.cause; cause !== undefined && !seen.has(cause); cause = (cause as Error).cause) {
    seen.add(cause);
    text += `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`;
  }
  return text;
}

export interface ErrorReport {
  program: string;
  /** Add the stack and the causes' stacks. */
  verbose: boolean;
  /** A line to add after a USAGE error, such as where to read the usage. */
  usageHint?: string;
}

/**
 * Writes `<program>: <message>` to stderr, with the stack and causes when verbose and the usage
 * hint after a USAGE error, and returns the exit code: exitCodeFor the PandaError's code, else 1.
 */
export function reportError(stderr: NodeJS.WritableStream, error: unknown, report: ErrorReport): number {
  const message = error instanceof Error ? error.message : String(error);
  const trace = report.verbose && error instanceof Error ? `${error.stack ?? ''}\n${describeCauses(error)}` : '';
  const usage = isPandaError(error) && error.code === 'USAGE';
  const hint = usage && report.usageHint !== undefined ? `${report.usageHint}\n` : '';
  stderr.write(`${report.program}: ${message}\n${trace}${hint}`);
  return isPandaError(error) ? exitCodeFor(error.code) : ExitCode.ERROR;
}

/** The terminal's width in columns when `stream` is a terminal that says, else undefined. */
function columnsOf(stream: NodeJS.WritableStream): number | undefined {
  const { isTTY, columns } = stream as { isTTY?: boolean; columns?: number };
  return isTTY === true && typeof columns === 'number' && columns > 0 ? columns : undefined;
}

/** The only command of a program without commands of its own: a single `$0`. */
function soleCommand<Spec extends CommandLine>(commands: readonly Spec[]): Spec | undefined {
  const [only] = commands;
  return commands.length === 1 && only !== undefined && commandNames(only).length === 0 ? only : undefined;
}

/** The text under a command's help: its examples, then the program's epilogue. */
function helpEpilogue(settings: ParserSettings, command: CommandLine): string {
  const examples = command.examples.length === 0 ? [] : [examplesText(settings.name, command.examples)];
  return [...examples, settings.epilogue].filter((text) => text !== '').join('\n\n');
}

/**
 * The values PREFIX_OPTION variables give the options `parser` has declared, by the name each was
 * declared with, as yargs' env() reads them (PANDA_SERVER_DATA_DIR for --data-dir). Variables of
 * other commands' options are left out, since strict parsing would refuse them as unknown.
 */
function environmentValues(parser: Argv, prefix: string, env: ProgramIo['env']): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of declaredOptions(parser).names) {
    const value = env[`${prefix}_${name.toUpperCase().replace(/-/g, '_')}`];
    if (value !== undefined && name !== 'help' && name !== 'version') values[name] = value;
  }
  return values;
}

/**
 * Declares a command's options on its parser (the program's, for its only command), their
 * variables and the help's epilogue, wrapped here to the help's `width` (null: unbounded): yargs
 * would cut its words in two.
 */
function declareCommand(
  parser: Argv,
  settings: ParserSettings,
  command: CommandLine,
  env: ProgramIo['env'],
  width: number | null,
): Argv {
  const declared = command.builder(parser);
  if (settings.envPrefix !== undefined) declared.config(environmentValues(declared, settings.envPrefix, env));
  const text = helpEpilogue(settings, command);
  if (text === '') return declared;
  return declared.epilogue(width === null ? text : wrapHelp(text, width));
}

/**
 * The program's parser: program-wide options, --help and --version, then the commands (or the
 * options of its only command). `onChosen` hears of the command yargs picks, when it picks it:
 * for a command line it then refuses too.
 */
function createParser<Spec extends CommandLine>(
  settings: ParserSettings,
  commands: readonly Spec[],
  env: ProgramIo['env'],
  width: number | null = null,
  onChosen: (command: Spec) => void = () => undefined,
): Argv {
  const parser = yargs().scriptName(settings.name).locale('en').exitProcess(false).strict().wrap(width);
  if (settings.usage !== undefined) parser.usage(settings.usage);
  settings.options(parser);
  const sole = soleCommand(commands);
  if (sole !== undefined) declareCommand(parser, settings, sole, env, width);
  parser.help();
  if (settings.shortHelp !== false) parser.alias('help', 'h');
  parser.version(settings.version);
  if (sole !== undefined) return parser;
  for (const command of commands) {
    parser.command({
      command: command.command as string | string[],
      describe: command.describe,
      builder: (sub) => {
        onChosen(command);
        return declareCommand(sub, settings, command, env, width);
      },
      // The command runs after parsing, in runProgram, which knows then which one yargs chose.
      handler: () => undefined,
    });
  }
  return parser;
}

/** A command line as runProgram takes it on: help to print, a command to run, or a refusal. */
type CommandLineParse<Spec> =
  | { kind: 'output'; text: string }
  | { kind: 'parsed'; argv: Record<string, unknown>; command: Spec }
  | { kind: 'refused'; error: PandaError; argv: Record<string, unknown> | undefined; command: Spec | undefined };

/** Parses a command line and says which command yargs chose for it, also when it refused it. */
async function parseCommandLine<Spec extends CommandLine>(
  settings: ParserSettings,
  commands: readonly Spec[],
  env: ProgramIo['env'],
  args: readonly string[],
): Promise<CommandLineParse<Spec>> {
  const sole = soleCommand(commands);
  // yargs runs the builder of the command it picked: that is how it tells which one.
  let chosen = sole;
  const parser = createParser(settings, commands, env, null, (command) => {
    chosen = command;
  });
  const { error, argv, output } = await parseQuietly(parser, args);
  if (error !== undefined) {
    const names = sole === undefined ? commands.flatMap(commandNames) : undefined;
    return { kind: 'refused', error: usageError(error, args, names), argv, command: chosen };
  }
  if (output !== '') return { kind: 'output', text: output };
  if (chosen === undefined || argv === undefined) {
    // Only a program without a default command ($0) can be called with none.
    const error = new PandaError('USAGE', `name a command: ${commands.flatMap(commandNames).join(', ')}`);
    return { kind: 'refused', error, argv, command: undefined };
  }
  return { kind: 'parsed', argv, command: chosen };
}

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

/**
 * The help (or version) text `unbounded`, laid out by yargs on unbounded lines, fitted to `width`
 * columns. yargs' own layout at that width (types aligned on the right) is kept when it cut no
 * word in two, which it does when a column is narrow; else wrapHelp wraps `unbounded` between
 * words. Either way no line is left longer than the width where it has a space to break at.
 * `build` makes the program's parser with yargs' wrap width (null: unbounded).
 */
async function fitHelp(
  build: (width: number | null) => Argv,
  args: readonly string[],
  unbounded: string,
  width: number,
): Promise<string> {
  const laidOut = await parseArguments(build(width), args).catch(() => undefined);
  const intact =
    laidOut !== undefined && 'output' in laidOut && words(laidOut.output).join(' ') === words(unbounded).join(' ');
  // yargs leaves a line longer than the width now and then (an epilogue paragraph, a long word in a
  // narrow column): wrapHelp wraps those lines only.
  return wrapHelp(intact ? laidOut.output : unbounded, width);
}

/**
 * What the completion scripts ask for: the commands, options and (through `complete`) values that
 * fit the word being typed after `words`. Nothing is run.
 */
async function completions<Deps, Global, Client>(
  program: Program<Deps, Global, Client>,
  env: ProgramIo['env'],
  words: readonly string[],
): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const options = async () => optionsFor(createParser(program, program.commands, env), before);
  if (current.startsWith('-')) return (await options()).filter((option) => option.startsWith(current));
  const commands =
    soleCommand(program.commands) === undefined && before.every((word) => word.startsWith('-'))
      ? [...program.commands.flatMap(commandNames), 'completion']
      : [];
  const values = (await program.complete?.(before, current).catch(() => [])) ?? [];
  const offered = [...commands, ...values].filter((word) => word.startsWith(current));
  return offered.length > 0 || current !== '' ? offered : options();
}

/**
 * Runs a program on its arguments and returns its exit code: the one place where errors become
 * exit codes and `<name>: <message>` lines on stderr. --help and --version print to stdout and
 * return 0; a wrong command line returns 2 with a pointer to --help; an error of a command returns
 * exitCodeFor its code (1 when it is no PandaError). Stacks and causes only with --verbose, which
 * the program declares (addVerboseOption). The chosen command's run function is loaded only now,
 * and runs with the program's deps and a `client()` made by `connect` on its first call.
 *
 * @example
 * return runProgram(deps, args, {
 *   name: 'prun', version, usage: '$0 --exec "CMD" --outDS NAME [options]', wrap: 110, epilogue: EPILOGUE,
 *   options: (parser) => parser,
 *   commands: [prunCommand],
 *   global: (argv) => ({
 *     connection: readConnectionOptions(argv),
 *     color: useColor(argv.color !== false, deps.isTTY.stdout, deps.env),
 *   }),
 *   connect: (deps, global) => connect(deps, global.connection),
 * });
 */
export async function runProgram<Deps extends ProgramIo, Global, Client = never>(
  deps: Deps,
  args: readonly string[],
  program: Program<Deps, Global, Client>,
): Promise<number> {
  // yargs' hidden completion flag only ever lists completions, whatever else the line holds.
  const completing = completionRequest(args);
  if (completing !== undefined) {
    const offered = await completions(program, deps.env, completing);
    deps.stdout.write(offered.map((word) => `${word}\n`).join(''));
    return ExitCode.OK;
  }
  const sole = soleCommand(program.commands);
  const refused = (error: unknown, verbose: boolean, command: CommandLine | undefined): number =>
    reportError(deps.stderr, error, {
      program: program.name,
      verbose,
      usageHint: [
        `Run "${program.name} --help" for ${sole === undefined ? 'the commands and options' : 'the options'}.`,
        ...(command?.usageHint === undefined ? [] : [command.usageHint]),
      ].join('\n'),
    });
  if (args[0] === 'completion') {
    try {
      deps.stdout.write(await completionScript(program.name, completionShell(args.slice(1), deps.env)));
      return ExitCode.OK;
    } catch (error) {
      return refused(error, false, undefined);
    }
  }
  const line = await parseCommandLine(program, program.commands, deps.env, args);
  if (line.kind === 'output') {
    const width = Math.min(program.wrap, columnsOf(deps.stdout) ?? program.wrap);
    const build = (wrap: number | null) => createParser(program, program.commands, deps.env, wrap);
    deps.stdout.write(`${await fitHelp(build, args, line.text, width)}\n`);
    return ExitCode.OK;
  }
  if (line.kind === 'refused') return refused(line.error, line.argv?.verbose === true, line.command);
  const { argv, command } = line;
  let global: Global;
  let options: unknown;
  try {
    global = program.global(argv);
    options = command.options(argv);
  } catch (error) {
    return refused(error, argv.verbose === true, command);
  }
  const { connect } = program;
  const client = lazyClient<Client>(() =>
    connect === undefined ? Promise.reject(new Error(`${program.name} makes no API client`)) : connect(deps, global),
  );
  try {
    const run = await command.load();
    return (await run({ ...deps, client }, global, options)) ?? ExitCode.OK;
  } catch (error) {
    return reportError(deps.stderr, error, { program: program.name, verbose: argv.verbose === true });
  }
}
