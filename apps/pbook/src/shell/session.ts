import { PandaError } from '@panda-secrets/protocol';
import { bindArguments, evaluate, parse, pythonError, repr } from '../python/index.js';
import type { PyFunction, PyModule, PyValue } from '../python/index.js';
import type { SecretActions } from '../secret-actions.js';
import type { TaskActions } from '../task-actions.js';
import { getpassModule, jsonModule, shellFunctions } from './functions.js';

/**
 * What the shell asks of the terminal for `getpass.getpass()`: a line read without echo, null
 * when Ctrl-D ends the input instead.
 */
type HiddenReader = (prompt: string) => Promise<string | null>;

export interface SessionOptions {
  actions: SecretActions;
  tasks: TaskActions;
  stdout: NodeJS.WritableStream;
  /** Print the repr of expression results, as Python's interactive prompt does. */
  echo: boolean;
  /** Asks before delete_all_secrets(); without it the shell does not ask (batch use). */
  confirm?: (question: string) => Promise<boolean>;
  /** Reads a line without echo, for getpass.getpass(); without it getpass cannot be imported. */
  readHidden?: HiddenReader;
}

const BOOL_WORDS: Record<string, boolean> = { True: true, False: false, true: true, false: false };

function boolWord(word: string, name: string): boolean {
  const value = BOOL_WORDS[word];
  // The word itself is not repeated: a misplaced word is often a secret value.
  if (value === undefined) throw new PandaError('USAGE', `${name} must be True or False (write ${name}=True)`);
  return value;
}

/**
 * One shell session: runs statements against the secret actions and remembers what `import`
 * brought in and whether exit() was called.
 */
export class ShellSession {
  readonly #options: SessionOptions;
  readonly #functions: Record<string, PyFunction>;
  readonly #imported = new Map<string, PyModule>();
  readonly #modules: Record<string, PyModule>;
  #exited = false;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#modules = {
      json: jsonModule,
      ...(options.readHidden === undefined ? {} : { getpass: getpassModule(options.readHidden) }),
    };
    this.#functions = shellFunctions({
      actions: options.actions,
      tasks: options.tasks,
      stdout: options.stdout,
      ...(options.confirm === undefined ? {} : { confirm: options.confirm }),
      exit: () => {
        this.#exited = true;
      },
    });
  }

  /**
   * What Tab offers at the end of `line`, as readline's completer wants it: the candidates and
   * the word they complete. Functions (and, once imported, module functions) complete with `(`,
   * module names after `import`, and inside a call the function's keyword arguments with `=`.
   */
  complete(line: string): [string[], string] {
    const word = /[A-Za-z_][A-Za-z0-9_.]*$/.exec(line)?.[0] ?? '';
    const before = line.slice(0, line.length - word.length);
    if (/^\s*import\s+(?:[A-Za-z_]\w*\s*,\s*)*$/.test(before)) {
      return [Object.keys(this.#modules).filter((name) => name.startsWith(word)), word];
    }
    const functions = Object.values(this.#functions).map((fn) => `${fn.name}(`);
    const members = [...this.#imported].flatMap(([name, module]) =>
      Object.keys(module.members).map((member) => `${name}.${member}(`),
    );
    const keywords = this.#callAt(before)?.params.map((param) => `${param.name}=`) ?? [];
    const imports = before.trim() === '' ? ['import '] : [];
    return [
      [...keywords, ...functions, ...members, ...imports].filter((candidate) => candidate.startsWith(word)),
      word,
    ];
  }

  /** The function whose call is open at the end of `text` (its `(` not closed yet), if any. */
  #callAt(text: string): PyFunction | undefined {
    let depth = 0;
    for (let at = text.length - 1; at >= 0; at -= 1) {
      const char = text[at];
      if (char === ')') depth += 1;
      else if (char === '(') {
        if (depth === 0) {
          const name = /([A-Za-z_][A-Za-z0-9_.]*)\s*$/.exec(text.slice(0, at))?.[1] ?? '';
          const [module, member] = name.split('.');
          const found =
            member === undefined ? this.#functions[name] : this.#imported.get(module ?? '')?.members[member];
          return typeof found === 'object' &&
            found !== null &&
            !Array.isArray(found) &&
            (found as PyFunction).type === 'function'
            ? (found as PyFunction)
            : undefined;
        }
        depth -= 1;
      }
    }
    return undefined;
  }

  /** True once exit() or quit() ran. */
  get exited(): boolean {
    return this.#exited;
  }

  #lookup(name: string): PyValue | undefined {
    const value = this.#imported.get(name) ?? this.#functions[name];
    if (value === undefined && name in this.#modules) {
      throw pythonError('NameError', `name '${name}' is not defined (run "import ${name}" first)`);
    }
    return value;
  }

  /** Runs statements separated by `;` or newlines, stopping at the first error (thrown) or exit(). */
  async run(source: string): Promise<void> {
    const scope = { lookup: (name: string) => this.#lookup(name) };
    for (const statement of parse(source)) {
      if (statement.kind === 'import') {
        for (const name of statement.modules) {
          const module = this.#modules[name];
          if (module === undefined) {
            const supported = Object.keys(this.#modules)
              .map((known) => `"import ${known}"`)
              .join(' and ');
            throw pythonError(
              'ModuleNotFoundError',
              `only ${supported} ${Object.keys(this.#modules).length > 1 ? 'are' : 'is'} supported, not "import ${name}"`,
            );
          }
          this.#imported.set(name, module);
        }
      } else {
        const result = await evaluate(statement.expression, scope);
        if (this.#options.echo && result !== null) this.#options.stdout.write(`${repr(result)}\n`);
      }
      if (this.#exited) return;
    }
  }

  /**
   * Calls a function with command-line words, as `pbook set_secret K V is_file=True` does: every
   * word is the exact string given, except bool parameters and, once the required arguments are
   * given, words of the form `name=value`, which are keyword arguments as in Python (an unknown
   * name is refused by name, its value never shown).
   */
  async callWithWords(name: string, words: string[]): Promise<void> {
    const fn = this.#functions[name];
    if (fn === undefined) throw new PandaError('USAGE', `unknown function ${name}`);
    const required = fn.params.filter((param) => !('default' in param)).length;
    const args: PyValue[] = [];
    const keywords: Array<[string, PyValue]> = [];
    words.forEach((word, index) => {
      const [, keyword, text = ''] = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word) ?? [];
      if (keyword !== undefined && index >= required) {
        const param = fn.params.find((candidate) => candidate.name === keyword);
        keywords.push([keyword, param?.type === 'bool' ? boolWord(text, keyword) : text]);
      } else {
        const target = fn.params[args.length];
        // A third word for set_secret is most often the rest of a value with a space in it.
        if (target?.type === 'bool' && !(word in BOOL_WORDS) && required > 0 && args.length >= required) {
          const takes = fn.params
            .map((param) => ('default' in param ? `${param.name}=...` : param.name.toUpperCase()))
            .join(' ');
          throw new PandaError(
            'USAGE',
            `${name} takes ${takes}, but got ${words.length} words: quote a value that has spaces as one word, e.g. pbook ${name} KEY "hello world"`,
          );
        }
        args.push(target?.type === 'bool' ? boolWord(word, target.name) : word);
      }
    });
    await fn.call(bindArguments(fn, args, keywords));
  }
}
