import { PandaError } from '@panda-secrets/protocol';
import type { Prompter } from './deps.js';
import type { Answer } from './shell/lines.js';
import { isYes } from './secret-actions.js';

/** What Ctrl-C at a question of pbook's commands does: stop the command, exit 130, nothing changed. */
export function cancelledByCtrlC(): PandaError {
  return new PandaError('INTERRUPTED', 'cancelled (Ctrl-C)');
}

/** The line answered; null when Ctrl-D ended the input instead; Ctrl-C throws INTERRUPTED. */
export function answeredLine(answer: Answer): string | null {
  if ('line' in answer) return answer.line;
  if (answer.cancelled === 'ctrl-c') throw cancelledByCtrlC();
  return null;
}

/** Asks one question on the terminal with the shell's line reader, made for it and closed after. */
async function ask(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  question: string,
  hidden: boolean,
): Promise<Answer> {
  // Loaded on the first question only: most runs never prompt, and node:readline costs start-up.
  const { createLineReader } = await import('./shell/lines.js');
  const reader = createLineReader(input, output, true);
  try {
    return await reader.ask(question, { hidden });
  } finally {
    reader.close();
  }
}

/**
 * The terminal prompts of the real process: questions on `output` (stderr), answers from `input`.
 * Ctrl-C at a question throws INTERRUPTED; Ctrl-D answers a secret with null and a [y/N] with no.
 */
export function terminalPrompter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Prompter {
  const answered = async (question: string, hidden: boolean): Promise<string | null> =>
    answeredLine(await ask(input, output, question, hidden));
  return {
    secret: (question) => answered(question, true),
    confirm: async (question) => isYes(await answered(question, false)),
  };
}
