/**
 * The exit codes of pbook and prun as their help states them, without the sentence's end: each
 * program ends it, or goes on with codes of its own.
 */
export const EXIT_CODES_HELP = 'Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 authentication or permission, 5 rejected input,\n6 rate limited';

// Broken by hand: yargs would wrap a long line at a different place in each program.
const CONNECTION_ENVIRONMENT = [
  'Environment: PANDA_URL_SSL (server), PANDA_AUTH_ID_TOKEN (the token), OIDC_AUTH_TOKEN_FILE',
  '(a file holding the token), PANDA_AUTH_VO (VO), PANDA_CA_FILE (a private CA)',
] as const;

export interface EpilogueText {
  /** Lines that come first: what the program does. */
  about?: readonly string[];
  /** The end of the environment sentence after the connection variables: more variables or a note, and its full stop. */
  environmentEnd: string;
  /** The exit codes sentence, a string a line. */
  exitCodes: readonly string[];
}

/**
 * The text under a program's help: what it does, the environment variables it reads (the
 * connection variables of every program, then its own) and its exit codes.
 *
 * @example
 * epilogue({ environmentEnd: ', NO_COLOR.', exitCodes: [`${EXIT_CODES_HELP}.`] })
 */
export function epilogue(text: EpilogueText): string {
  const [first, last] = CONNECTION_ENVIRONMENT;
  return [...(text.about ?? []), first, `${last}${text.environmentEnd}`, ...text.exitCodes].join('\n');
}
