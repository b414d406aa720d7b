import { PandaError } from '@panda-secrets/protocol';
import { bindArguments, evaluate } from '../python/evaluate.js';
import { parse } from '../python/parser.js';
import { pythonError, repr } from '../python/values.js';
import type { PyFunction, PyModule, PyValue } from '../python/values.js';
import type { SecretActions } from '../secrets.js';
import type { TaskActions } from '../tasks.js';
import { jsonModule, shellFunctions } from './functions.js';

const MODULES: Record<string, PyModule> = { json: jsonModule };

export interface SessionOptions {
  actions: SecretActions;
  tasks: TaskActions;
  stdout: NodeJS.WritableStream;
  /** Print the repr of expression results, as Python's interactive prompt does. */
  echo: boolean;
  /** Asks before delete_all_secrets(); without it the shell does not ask (batch use). */
  confirm?: (question: string) => Promise<boolean>;
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
  #exited = false;

  constructor(options: SessionOptions) {
    this.#options = options;
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

  /** True once exit() or quit() ran. */
  get exited(): boolean {
    return this.#exited;
  }

  #lookup(name: string): PyValue | undefined {
    const value = this.#imported.get(name) ?? this.#functions[name];
    if (value === undefined && name in MODULES) {
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
          const module = MODULES[name];
          if (module === undefined) throw pythonError('ModuleNotFoundError', `only "import json" is supported, not "import ${name}"`);
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
        args.push(target?.type === 'bool' ? boolWord(word, target.name) : word);
      }
    });
    await fn.call(bindArguments(fn, args, keywords));
  }
}
