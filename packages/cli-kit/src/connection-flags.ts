import type { Argv } from 'yargs';

/**
 * The --server, --token-file and --vo flags as given. It has the shape of the client's
 * `ConnectionOptions`, which the apps pass it to; this package does not depend on the client, so
 * that a program's `--help` never loads it.
 */
export interface ConnectionFlags {
  server?: string;
  tokenFile?: string;
  vo?: string;
  caFile?: string;
}

export interface ConnectionOptionsSettings {
  /** Whose token and VO the flags name: a user's (pbook, prun) or a pilot's. Default 'user'. */
  role?: 'user' | 'pilot';
  /** Declare the flags for every command of a program that has commands. Default false. */
  global?: boolean;
}

const HOLDER = {
  user: { token: 'your token', vo: 'your VO' },
  pilot: { token: 'the pilot token', vo: 'VO' },
} as const;

/**
 * Declares --server, --token-file and --vo on a parser, with the environment variables each
 * falls back to in its description.
 *
 * @example
 * options: (parser) => addConnectionOptions(parser.option('once', { type: 'boolean' }), { role: 'pilot' })
 */
export function addConnectionOptions(parser: Argv, settings: ConnectionOptionsSettings = {}): Argv {
  const holder = HOLDER[settings.role ?? 'user'];
  const global = settings.global ?? false;
  return parser
    .option('server', {
      type: 'string',
      requiresArg: true,
      global,
      describe: 'panda-server URL (else PANDA_URL_SSL, else http://127.0.0.1:25080)',
    })
    .option('token-file', {
      type: 'string',
      requiresArg: true,
      global,
      describe: `file holding ${holder.token} (else PANDA_AUTH_ID_TOKEN, else OIDC_AUTH_TOKEN_FILE)`,
    })
    .option('vo', {
      type: 'string',
      requiresArg: true,
      global,
      describe: `${holder.vo}, sent as Origin (else PANDA_AUTH_VO)`,
    })
    .option('ca-file', {
      type: 'string',
      requiresArg: true,
      global,
      describe: 'PEM file of a private CA to trust besides the public ones (else PANDA_CA_FILE)',
    });
}

/**
 * Reads back the flags addConnectionOptions declared, leaving out those not given, so the client's
 * fallbacks (environment, default server) apply. Works with yargs' camel-case expansion on or off.
 *
 * @example
 * readConnectionOptions({ server: 'https://panda:8443', 'token-file': '/t' }) // { server: 'https://panda:8443', tokenFile: '/t' }
 */
export function readConnectionOptions(argv: Readonly<Record<string, unknown>>): ConnectionFlags {
  const server = argv.server;
  const tokenFile = argv['token-file'];
  const vo = argv.vo;
  const caFile = argv['ca-file'];
  return {
    ...(server === undefined ? {} : { server: String(server) }),
    ...(tokenFile === undefined ? {} : { tokenFile: String(tokenFile) }),
    ...(vo === undefined ? {} : { vo: String(vo) }),
    ...(caFile === undefined ? {} : { caFile: String(caFile) }),
  };
}
