import type { Argv } from 'yargs';

export interface VerboseOptionSettings {
  /** What the option does in this program. Default: "show stack traces of errors". */
  describe?: string;
  /** Also -v. Default true. */
  short?: boolean;
  /** Declare it for every command of a program that has commands. Default false. */
  global?: boolean;
}

/**
 * Declares --verbose (-v), which runProgram reads to add stacks and causes to error messages.
 *
 * @example
 * options: (parser) => addVerboseOption(addConnectionOptions(parser), { describe: 'log each poll; stack traces of errors' })
 */
export function addVerboseOption(parser: Argv, settings: VerboseOptionSettings = {}): Argv {
  return parser.option('verbose', {
    ...(settings.short === false ? {} : { alias: 'v' }),
    type: 'boolean',
    default: false,
    global: settings.global ?? false,
    describe: settings.describe ?? 'show stack traces of errors',
  });
}

/** Declares --color (and --no-color); whether output is coloured is useColor's to say. */
export function addColorOption(parser: Argv, settings: { global?: boolean } = {}): Argv {
  return parser.option('color', {
    type: 'boolean',
    default: true,
    global: settings.global ?? false,
    describe: 'colour on a terminal; --no-color (or NO_COLOR) turns it off',
  });
}

/**
 * The one colour rule of every program (clig.dev's): colour only when --color was not turned off,
 * the output is a terminal and NO_COLOR is unset or empty.
 */
export function useColor(
  color: boolean,
  terminal: boolean,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return color && terminal && !env.NO_COLOR;
}
