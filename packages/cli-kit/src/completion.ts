import yargs from 'yargs';
import type { Argv, MiddlewareFunction } from 'yargs';
import { PandaError } from '@panda-secrets/protocol';
import { declaredOptions } from './declared-options.js';

/** The hidden flag yargs' completion scripts call the program with: `prog --get-yargs-completions prog WORD…`. */
export const COMPLETION_FLAG = '--get-yargs-completions';

/** The shells a completion script can be printed for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/**
 * The words typed so far when the command line asks for completions (the program's own name, as
 * the scripts pass it first, left out), else undefined. Whatever else the line holds, a program
 * asked for completions only lists them: it never runs a command.
 */
export function completionRequest(args: readonly string[]): string[] | undefined {
  const at = args.indexOf(COMPLETION_FLAG);
  if (at === -1) return undefined;
  return args.slice(at + 2);
}

/** The shell `prog completion [SHELL]` names, else the user's login shell, else bash. */
export function completionShell(
  words: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CompletionShell {
  const named = words[0];
  if (named === undefined) return (env.SHELL ?? '').endsWith('zsh') ? 'zsh' : 'bash';
  if ((COMPLETION_SHELLS as readonly string[]).includes(named) && words.length === 1) return named as CompletionShell;
  throw new PandaError(
    'USAGE',
    `completion takes one of ${COMPLETION_SHELLS.join(', ')}, not ${JSON.stringify(words.join(' '))}`,
  );
}

/**
 * yargs' own completion script for `name` in `shell`. yargs picks its bash or zsh template from
 * SHELL when a parser is made, so SHELL is set to the wanted shell for that moment only.
 */
export async function completionScript(name: string, shell: CompletionShell): Promise<string> {
  const saved = { SHELL: process.env.SHELL, ZSH_NAME: process.env.ZSH_NAME };
  const command = `completion ${shell}`;
  let parser: Argv;
  try {
    process.env.SHELL = `/bin/${shell}`;
    delete process.env.ZSH_NAME;
    parser = yargs().scriptName(name).locale('en').exitProcess(false).completion(command, false);
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  return new Promise((resolve) => {
    parser.parse([command], {}, (_error, _argv, output) => resolve(`${output}\n`));
  });
}

/** Thrown by the middleware that stops a parse made only to read the chosen command's options. */
class OptionsRead extends Error {}

/**
 * The options (`--name`, `-n`) the command chosen by `words` takes. The words are parsed, and
 * the parse is stopped by a middleware, which yargs calls before any command's handler: so this
 * never runs a command, whatever its handler does.
 */
export async function optionsFor(parser: Argv, words: readonly string[]): Promise<string[]> {
  let options: ReturnType<typeof declaredOptions> | undefined;
  // yargs passes the chosen command's parser as a second argument, missing from its type definitions.
  const readOptions = (_argv: unknown, chosen: unknown) => {
    options = declaredOptions(chosen);
    throw new OptionsRead();
  };
  parser.middleware(readOptions as unknown as MiddlewareFunction, true);
  await new Promise<void>((resolve) => {
    try {
      parser.parse([...words], {}, () => resolve());
    } catch {
      resolve();
    }
  });
  if (options === undefined) return [];
  const { names, hidden } = options;
  const offered = names
    .filter((name) => !hidden.includes(name))
    .map((name) => (name.length === 1 ? `-${name}` : `--${name}`));
  return [...new Set(offered)];
}
