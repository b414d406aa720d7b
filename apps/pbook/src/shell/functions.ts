import { MAX_ENV_ENTRY_BYTES, MAX_FILE_BYTES } from '@panda-secrets/protocol';
import { dumps, pythonError, repr } from '../python/index.js';
import type { PyFunction, PyModule, PyValue } from '../python/index.js';
import type { SecretActions } from '../secret-actions.js';
import type { TaskActions } from '../task-actions.js';
import { define } from './define.js';
import { taskFunctions } from './task-functions.js';

export interface FunctionContext {
  actions: SecretActions;
  tasks: TaskActions;
  stdout: NodeJS.WritableStream;
  /** Asks before delete_all_secrets(); absent in piped batch use, which does not ask (as PanDA's pbook). */
  confirm?: (question: string) => Promise<boolean>;
  /** Called by exit() and quit(). */
  exit(): void;
}

/** `name(a, b=default)`, the way help() shows a function. */
function signature(fn: PyFunction): string {
  const params = fn.params.map((param) =>
    'default' in param ? `${param.name}=${repr(param.default ?? null)}` : param.name,
  );
  return `${fn.name}(${params.join(', ')})`;
}

const str = (args: Map<string, PyValue>, name: string): string => args.get(name) as string;
const bool = (args: Map<string, PyValue>, name: string): boolean => args.get(name) === true;

/** The json module `import json` makes available. */
export const jsonModule: PyModule = {
  type: 'module',
  name: 'json',
  members: {
    dumps: {
      type: 'function',
      name: 'dumps',
      params: [
        { name: 'obj', type: 'any' },
        { name: 'ensure_ascii', type: 'bool', default: true },
      ],
      doc:
        'Serialize obj (str, int, float, True, False, None, list, tuple or dict) to a JSON str, exactly as\n' +
        "Python's json.dumps does with its default separators ', ' and ': '.",
      call: async (args) => dumps(args.get('obj') ?? null, args.get('ensure_ascii') === true),
    },
  },
};

/**
 * The getpass module `import getpass` makes available: getpass.getpass(prompt) reads a line
 * without showing it, as in Python, so `set_secret('K', getpass.getpass())` keeps the value off
 * the screen (and out of the shell's history).
 */
export function getpassModule(readHidden: (prompt: string) => Promise<string | null>): PyModule {
  return {
    type: 'module',
    name: 'getpass',
    members: {
      getpass: {
        type: 'function',
        name: 'getpass',
        params: [{ name: 'prompt', type: 'str', default: 'Password: ' }],
        doc:
          "Read a line without echoing it and return it as a str, as Python's getpass.getpass does.\n" +
          'Ctrl-D instead of a line raises EOFError, Ctrl-C cancels: the statement stops, nothing stored.',
        call: async (args) => {
          const line = await readHidden(String(args.get('prompt') ?? 'Password: '));
          // As Python's EOFError; rejected input, as the empty answer of pbook set-secret's prompt.
          if (line === null) throw pythonError('EOFError', 'no line was typed (Ctrl-D)', 'INVALID_INPUT');
          return line;
        },
      },
    },
  };
}

/**
 * The shell's functions, PanDA's pbook secrets API: set_secret, list_secrets, delete_secret,
 * delete_all_secrets; its bookkeeping: show, kill, retry, log; plus help, exit and quit.
 */
export function shellFunctions(context: FunctionContext): Record<string, PyFunction> {
  const { actions } = context;
  const secretFunctions = [
    define(
      'set_secret',
      [
        { name: 'key', type: 'str' },
        { name: 'value', type: 'str' },
        { name: 'is_file', type: 'bool', default: false },
      ],
      'Store a secret. key is the name of the environment variable jobs get: letters, digits and\n' +
        'underscores, not starting with a digit. value must be a str: serialize other data first,\n' +
        `e.g. with json.dumps; without NUL characters and, with the key, at most ${MAX_ENV_ENTRY_BYTES} bytes of\n` +
        'UTF-8, what an environment variable can carry (larger data belongs in a file).\n' +
        'With is_file=True, key is the name of the file jobs get in their\n' +
        `working directory and value is the path of a local file of at most ${MAX_FILE_BYTES} bytes (1000 kB).`,
      (args) =>
        bool(args, 'is_file')
          ? actions.setFile(str(args, 'key'), str(args, 'value'))
          : actions.setValue(str(args, 'key'), str(args, 'value')),
    ),
    define(
      'list_secrets',
      [{ name: 'full', type: 'bool', default: false }],
      'Show all your secrets: key, type (env or file) and value, file values in base64.\n' +
        'Values longer than 50 characters are cut; full=True shows them whole.',
      (args) => actions.list({ full: bool(args, 'full'), json: false }),
    ),
    define(
      'delete_secret',
      [{ name: 'key', type: 'str' }],
      'Delete one secret, an environment variable or a file.',
      (args) => actions.delete(str(args, 'key')),
    ),
    define(
      'delete_all_secrets',
      [],
      'Delete all your secrets. On a terminal every form asks first: Ctrl-D answers no, and so does Ctrl-C in the\n' +
        'shell (the batch forms stop with exit 130). Without a terminal the shell deletes nothing, and the batch\n' +
        'forms (pbook delete_all_secrets, pbook -c) delete without asking.',
      () => actions.deleteAll(context.confirm),
    ),
  ];
  const accountFunctions = [
    define('login', [], 'Sign in anew with the identity provider the server names (the device flow).', () =>
      actions.login(),
    ),
    define('logout', [], 'Forget the saved sign-in.', () => actions.logout()),
    define('whoami', [], 'Show who your token says you are, its groups and when it expires.', () =>
      actions.whoami({ json: false }),
    ),
  ];
  const bookkeeping = taskFunctions(context.tasks);
  const leave = (name: string): PyFunction =>
    define(name, [], 'Leave the shell (Ctrl-D does too).', async () => context.exit());
  const functions: Record<string, PyFunction> = Object.fromEntries(
    [...secretFunctions, ...bookkeeping, ...accountFunctions, leave('exit'), leave('quit')].map((fn) => [fn.name, fn]),
  );

  const overview = [
    'pbook manages your secrets and your tasks on panda-server. Functions:',
    '',
    ...secretFunctions.map((fn) => `  ${signature(fn)}`),
    ...bookkeeping.map((fn) => `  ${signature(fn)}`),
    ...accountFunctions.map((fn) => `  ${signature(fn)}`),
    '  help(function)',
    '  exit(), quit() or Ctrl-D',
    '',
    'Values must be str: serialize other data first, e.g. import json; json.dumps({"a": 1}).',
    'help(set_secret) shows one function.',
  ].join('\n');

  functions.help = define(
    'help',
    [{ name: 'obj', type: 'any', default: null }],
    'Show help on the shell or a function.',
    async (args) => {
      const target = args.get('obj') ?? null;
      const fn = typeof target === 'string' ? functions[target] : target;
      if (target === null) {
        context.stdout.write(`${overview}\n`);
      } else if (fn !== undefined && fn !== null && typeof fn === 'object' && fn.type === 'function') {
        context.stdout.write(`${signature(fn)}\n\n${fn.doc.replace(/^/gm, '    ')}\n`);
      } else {
        context.stdout.write(`no help for ${repr(target)}; help() lists the functions\n`);
      }
    },
  );
  return functions;
}
