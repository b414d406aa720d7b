/**
 * The exit codes of pbook and prun as their help states them, without the sentence's end: each
 * program ends it, or goes on with codes of its own.
 */
export const EXIT_CODES_HELP =
  "Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 authentication or permission, 5 rejected input, 6 conflict (the task's state does not allow it), 7 rate limited";

const CONNECTION_ENVIRONMENT =
  'Environment: PANDA_URL_SSL (server), PANDA_AUTH_ID_TOKEN (the token), OIDC_AUTH_TOKEN_FILE (a file holding the token), PANDA_AUTH_VO (VO), PANDA_CA_FILE (a private CA)';

export interface EpilogueText {
  /** What the program does, first: its parts are joined by spaces into one paragraph. */
  about?: readonly string[];
  /** The end of the environment sentence after the connection variables: more variables or a note, and its full stop. */
  environmentEnd: string;
  /** The exit codes sentence: its parts are joined by spaces into one paragraph. */
  exitCodes: readonly string[];
}

/** `words` joined by spaces into lines of at most `width` characters; a longer word gets a line of its own. */
function fill(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * A help text laid out by yargs on unbounded lines, wrapped to `width` columns between words only
 * (yargs' own wrapping cuts words in two). A row of a column table (`  --name  meaning [type]`)
 * goes on under its meaning column while that column keeps at least a third of the width; other
 * lines go on at their own indentation.
 *
 * @example
 * wrapHelp('  --vo  your VO, sent as Origin  [string]', 24)
 * // '  --vo  your VO, sent as\n        Origin [string]'
 */
export function wrapHelp(text: string, width: number): string {
  return text
    .split('\n')
    .flatMap((line) => {
      if (line.length <= width) return [line];
      const column = /^(\s*\S(?:.*?\S)?\s{2,})\S/.exec(line);
      const leading = /^\s*/.exec(line)?.[0].length ?? 0;
      const head = column?.[1] !== undefined && column[1].length <= (width * 2) / 3 ? column[1] : ' '.repeat(leading);
      const words = line.slice(head.length).split(/\s+/).filter(Boolean);
      const longest = Math.max(...words.map((word) => word.length));
      if (head.length + longest > width && head.trim() !== '') {
        // A word wider than the meaning column: the meaning goes under the row's name instead.
        return [head.trimEnd(), ...wrapHelp(`${' '.repeat(leading)}${words.join(' ')}`, width).split('\n')];
      }
      // Indented by less when the indentation leaves a word no room.
      const indent = ' '.repeat(head.length + longest > width ? 0 : head.length);
      const [first = '', ...rest] = fill(words, Math.max(width - indent.length, 1));
      return [`${head.trim() === '' ? indent : head}${first}`, ...rest.map((part) => `${indent}${part}`)];
    })
    .join('\n');
}

/**
 * The "Examples:" section of a help: each command line on its own line, what it does indented
 * under it. yargs' own two-column examples cut long command lines in the middle of a word; this
 * text is wrapped like the rest of the help, between words. `$0` stands for the program's name.
 *
 * @example
 * examplesText('pbook', [['$0 list-secrets', 'a table on a terminal']])
 * // 'Examples:\n  pbook list-secrets\n      a table on a terminal'
 */
export function examplesText(
  name: string,
  examples: ReadonlyArray<readonly [command: string, meaning: string]>,
): string {
  return [
    'Examples:',
    ...examples.flatMap(([command, meaning]) => [`  ${command.replace(/\$0/g, name)}`, `      ${meaning}`]),
  ].join('\n');
}

/**
 * The text under a program's help: what it does, the environment variables it reads (the
 * connection variables of every program, then its own) and its exit codes, a paragraph each on
 * one line: the help is wrapped to the terminal's width as a whole (see wrapHelp), so no line is
 * broken here.
 *
 * @example
 * epilogue({ environmentEnd: ', NO_COLOR.', exitCodes: [`${EXIT_CODES_HELP}.`] })
 */
export function epilogue(text: EpilogueText): string {
  const about = text.about === undefined ? [] : [text.about.join(' ')];
  return [...about, `${CONNECTION_ENVIRONMENT}${text.environmentEnd}`, text.exitCodes.join(' ')].join('\n');
}
