import yargs from 'yargs';
import type { Argv } from 'yargs';
import { ExitCode, PandaError, exitCodeFor, isPandaError } from '@panda-secrets/protocol';
import { completionRequest, completionScript, completionShell, optionsFor } from './completion.js';
import { closestWord } from './suggest.js';
import { examplesText, wrapHelp } from './help.js';

/** Where a program writes: results to stdout, messages and errors to stderr. */
export interface OutputStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
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
  /** Command lines with what each does, shown under "Examples:" in the help. */
  examples: readonly (readonly [command: string, meaning: string])[];
  /** The text under the help, see epilogue(). */
  epilogue: string;
  /** Declares the program's options; help lists them in this order, then --help and --version. */
  options(parser: Argv): Argv;
  /** Registers the program's commands, if it has any; help then offers "the commands and options". */
  commands?(parser: Argv): void;
}

/** A command line program as runProgram runs it: its parser's settings, then its work. */
export interface Program<Parsed> extends ParserSettings {
  /**
   * Turns the parsed arguments into what `run` needs. A USAGE PandaError thrown here is a wrong
   * command line, reported with the pointer to --help like yargs' own complaints.
   */
  read(argv: Record<string, unknown>): Parsed;
  /** Does the program's work and returns its exit code. */
  run(parsed: Parsed): Promise<number>;
  /**
   * A line to add after the pointer to --help when the command line is refused, for a hint that
   * depends on what was typed (asked only then, after parsing).
   */
  extraUsageHint?(): string | undefined;
  /**
   * Values to offer for the word being completed (`current`) after `words`, besides commands and
   * options: pbook offers the names of the user's secrets. Never runs a command.
   */
  complete?(words: readonly string[], current: string): Promise<string[]>;
}

type ParseResult = { argv: Record<string, unknown> } | { output: string };

/**
 * Parses without letting yargs print or exit: --help and --version come back as `output`. With
 * `hasCommands`, an unknown first word is reported by name as an unknown command.
 */
export async function parseArguments(
  parser: Argv,
  args: readonly string[],
  commands?: readonly string[],
): Promise<ParseResult> {
  const { error, argv, output } = await new Promise<{
    error: Error | undefined;
    argv: Record<string, unknown>;
    output: string;
  }>((resolve) => {
    parser.parse([...args], {}, (failure, parsed, text) =>
      resolve({ error: failure ?? undefined, argv: parsed, output: text }),
    );
  });
  if (error !== undefined) throw usageError(error, args, commands);
  return output === '' ? { argv } : { output };
}

const UNKNOWN_ARGUMENTS = /^Unknown arguments?: (.*)$/s;

/**
 * yargs' parse error as a USAGE error. yargs quotes unknown arguments, and a stray positional is
 * often a secret value typed where it does not belong: unknown options are named, stray words
 * only counted, and the yargs error (which quotes them) is not kept as the cause.
 */
function usageError(error: Error, args: readonly string[], commands: readonly string[] | undefined): PandaError {
  const unknown = UNKNOWN_ARGUMENTS.exec(error.message);
  if (unknown === null) return new PandaError('USAGE', error.message, { cause: error });
  const options = new Set(args.filter((arg) => arg.startsWith('-')).map((arg) => arg.replace(/^-+/, '').split('=')[0]));
  const command = commands !== undefined ? args.find((arg) => !arg.startsWith('-')) : undefined;
  let words = unknown[1]?.split(', ') ?? [];
  const unknownCommand = command !== undefined && words[0] === command;
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
export function columnsOf(stream: NodeJS.WritableStream): number | undefined {
  const { isTTY, columns } = stream as { isTTY?: boolean; columns?: number };
  return isTTY === true && typeof columns === 'number' && columns > 0 ? columns : undefined;
}

/** The names of the commands a parser has, as typed (without their positional arguments). */
function commandNames(parser: Argv): string[] {
  const usage = (
    parser as unknown as {
      getInternalMethods(): { getUsageInstance(): { getCommands(): [string, string, boolean, string[]][] } };
    }
  )
    .getInternalMethods()
    .getUsageInstance();
  return usage
    .getCommands()
    .flatMap(([command, , , aliases]) => [command, ...aliases])
    .map((command) => command.split(' ')[0] ?? '')
    .filter((name) => name !== '' && name !== '$0');
}

function createParser(program: ParserSettings, width: number | null = null): Argv {
  const parser = yargs().scriptName(program.name).locale('en').exitProcess(false).strict().wrap(width);
  if (program.usage !== undefined) parser.usage(program.usage);
  const examples = program.examples.length === 0 ? [] : [examplesText(program.name, program.examples), ''];
  program.options(parser).help().alias('help', 'h').version(program.version);
  const epilogueText = [...examples, program.epilogue].join('\n');
  if (epilogueText !== '') parser.epilogue(epilogueText);
  program.commands?.(parser);
  return parser;
}

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

/**
 * The help (or version) text `unbounded`, laid out by yargs on unbounded lines, fitted to `width`
 * columns. yargs' own layout at that width (types aligned on the right) is kept when it cut no
 * word in two, which it does when a column is narrow; else wrapHelp wraps it between words.
 * `build` makes the program's parser with yargs' wrap width (null: unbounded).
 *
 * @example
 * await fitHelp((width) => makeParser().wrap(width), ['--help'], unbounded, 60)
 */
export async function fitHelp(
  build: (width: number | null) => Argv,
  args: readonly string[],
  unbounded: string,
  width: number,
): Promise<string> {
  const laidOut = await parseArguments(build(width), args).catch(() => undefined);
  if (laidOut !== undefined && 'output' in laidOut && words(laidOut.output).join(' ') === words(unbounded).join(' '))
    return laidOut.output;
  return wrapHelp(unbounded, width);
}

/**
 * What the completion scripts ask for: the commands, options and (through `complete`) values that
 * fit the word being typed after `words`. Nothing is run.
 */
async function completions<T>(program: Program<T>, words: readonly string[]): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const options = async () => optionsFor(createParser(program), before);
  if (current.startsWith('-')) return (await options()).filter((option) => option.startsWith(current));
  const commands =
    program.commands !== undefined && before.every((word) => word.startsWith('-'))
      ? [...commandNames(createParser(program)), 'completion']
      : [];
  const values = (await program.complete?.(before, current).catch(() => [])) ?? [];
  const offered = [...commands, ...values].filter((word) => word.startsWith(current));
  return offered.length > 0 || current !== '' ? offered : options();
}

/**
 * Runs a program on its arguments and returns its exit code: the one place where errors become
 * exit codes and `<name>: <message>` lines on stderr. --help and --version print to stdout and
 * return 0; a wrong command line returns 2 with a pointer to --help; an error of `run` returns
 * exitCodeFor its code (1 when it is no PandaError). Stacks and causes only with --verbose (-v),
 * which the program declares.
 *
 * @example
 * return runProgram(deps, args, {
 *   name: 'prun', version, wrap: 110, epilogue: EPILOGUE,
 *   options: (parser) => addConnectionOptions(parser.option('exec', { type: 'string', demandOption: true })),
 *   read: (argv) => ({ exec: String(argv.exec), connection: readConnectionOptions(argv) }),
 *   run: (parsed) => runPrun(deps, parsed),
 * });
 */
export async function runProgram<T>(
  io: OutputStreams & { env?: Readonly<Record<string, string | undefined>> },
  args: readonly string[],
  program: Program<T>,
): Promise<number> {
  // yargs' hidden completion flag only ever lists completions, whatever else the line holds.
  const completing = completionRequest(args);
  if (completing !== undefined) {
    const offered = await completions(program, completing);
    io.stdout.write(offered.map((word) => `${word}\n`).join(''));
    return ExitCode.OK;
  }
  let argv: Record<string, unknown>;
  let parsed: T;
  try {
    if (args[0] === 'completion') {
      io.stdout.write(await completionScript(program.name, completionShell(args.slice(1), io.env ?? {})));
      return ExitCode.OK;
    }
    const parser = createParser(program);
    const result = await parseArguments(
      parser,
      args,
      program.commands === undefined ? undefined : commandNames(parser),
    );
    if ('output' in result) {
      const width = Math.min(program.wrap, columnsOf(io.stdout) ?? program.wrap);
      io.stdout.write(`${await fitHelp((wrap) => createParser(program, wrap), args, result.output, width)}\n`);
      return ExitCode.OK;
    }
    argv = result.argv;
    parsed = program.read(argv);
  } catch (error) {
    const extra = program.extraUsageHint?.();
    return reportError(io.stderr, error, {
      program: program.name,
      // The command line may not have parsed, so --verbose is looked for among the words as given.
      verbose: args.includes('--verbose') || args.includes('-v'),
      usageHint:
        `Run "${program.name} --help" for ${program.commands === undefined ? 'the options' : 'the commands and options'}.` +
        (extra === undefined ? '' : `\n${extra}`),
    });
  }
  try {
    return await program.run(parsed);
  } catch (error) {
    return reportError(io.stderr, error, { program: program.name, verbose: argv.verbose === true });
  }
}
