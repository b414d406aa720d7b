import { PandaError, isPandaError } from '@panda-secrets/protocol';
import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions, confirmOnTerminal, isYes } from '../../secret-actions.js';
import { createLineReader } from '../../shell/lines.js';
import { ShellSession } from '../../shell/session.js';
import { TaskActions } from '../../task-actions.js';
import { answeredLine } from '../../terminal.js';
import type { ShellOptions } from './index.js';

const PROMPT = '>>> ';
const BANNER = 'pbook shell: help() lists the functions; exit() or Ctrl-D leaves.\n';
const NO_CONFIRMATION =
  'delete_all_secrets() asks for a confirmation typed on a terminal, and stdin is none: nothing was deleted. ' +
  'In a script, use "pbook delete-all-secrets --yes" or "pbook -c \'delete_all_secrets()\'", which do not ask';

/** A line pasted from the documentation keeps its prompt; it is not part of the statement. */
function withoutPrompt(line: string): string {
  return line.replace(/^\s*>>> ?/, '');
}

/** What the shell prints for an error: one line, and the stack when --verbose. */
function describeError(error: unknown, verbose: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  const stack = verbose && error instanceof Error && !isPandaError(error) && error.stack ? `\n${error.stack}` : '';
  return `error: ${message}${stack}\n`;
}

/**
 * The shell. With -c it runs the statements and stops at the first error (thrown, so it decides
 * the exit code); -i then continues at the prompt. At the prompt an error is one line and the
 * prompt comes back. When stdin is not a terminal, lines are read without prompts,
 * delete_all_secrets() fails instead of asking and, if any line failed, the session ends with the
 * first failure's code.
 */
export async function runShell(deps: Deps, global: GlobalOptions, options: ShellOptions): Promise<void> {
  const actions = new SecretActions(deps, global);
  const tasks = new TaskActions(deps, global);
  if (options.code !== undefined) {
    // On a terminal, -c's delete_all_secrets() asks too; piped, it does not (as PanDA's pbook).
    const confirm = confirmOnTerminal(deps);
    const batch = new ShellSession({
      actions,
      tasks,
      stdout: deps.stdout,
      echo: false,
      readHidden: (prompt) => deps.prompt.secret(prompt),
      ...(confirm === undefined ? {} : { confirm }),
    });
    await batch.run(options.code);
    if (!options.interactive || batch.exited) return;
  }

  const terminal = deps.isTTY.stdin;
  // Tab completes through the session, which is made next (it asks the reader its questions).
  let completeWith: ShellSession | undefined;
  const reader = createLineReader(
    deps.stdin,
    deps.stderr,
    terminal,
    (line) => completeWith?.complete(line) ?? [[], line],
  );
  const session = new ShellSession({
    actions,
    tasks,
    stdout: deps.stdout,
    echo: true,
    // As Python's getpass: on a terminal without echo, piped the next line. Ctrl-C stops the
    // statement (and only it) as at every question of pbook.
    readHidden: async (prompt) => answeredLine(await reader.ask(prompt, { hidden: true })),
    // Piped, the answer would be the script's next line: the question is asked on a terminal only.
    // There Ctrl-C and Ctrl-D answer no: the shell goes on.
    confirm: terminal
      ? async (question) => {
          const answer = await reader.ask(question);
          return 'line' in answer && isYes(answer.line);
        }
      : async () => {
          throw new PandaError('USAGE', NO_CONFIRMATION);
        },
  });
  completeWith = session;
  if (terminal) deps.stderr.write(BANNER);
  const failures: unknown[] = [];
  try {
    for (;;) {
      const line = await reader.read(PROMPT);
      if (line === null) {
        if (terminal) deps.stderr.write('\n');
        break;
      }
      try {
        await session.run(withoutPrompt(line));
      } catch (error) {
        deps.stderr.write(describeError(error, global.verbose));
        failures.push(error);
      }
      if (session.exited) break;
    }
  } finally {
    reader.close();
  }
  const [first] = failures;
  if (terminal || first === undefined) return;
  if (!isPandaError(first)) throw first;
  const count = failures.length === 1 ? '1 statement' : `${failures.length} statements`;
  throw new PandaError(first.code, `${count} failed (see above)`, { cause: first });
}
