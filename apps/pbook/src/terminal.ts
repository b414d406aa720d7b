import type { Prompter } from './deps.js';
import { isYes } from './secret-actions.js';

/** Asks one question on the terminal; `echo` false hides what is typed (for secret values). */
async function ask(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  question: string,
  echo: boolean,
): Promise<string> {
  // Loaded on the first question only: most runs never prompt, and node:readline costs start-up.
  const [{ createInterface }, { Writable }] = await Promise.all([import('node:readline'), import('node:stream')]);
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const readline = createInterface({ input, output: echo ? output : silent, terminal: true });
  output.write(echo ? '' : question);
  try {
    return await new Promise<string>((resolve, reject) => {
      readline.once('close', () => reject(new Error('cancelled')));
      readline.question(echo ? question : '', resolve);
    });
  } finally {
    readline.removeAllListeners('close');
    readline.close();
    if (!echo) output.write('\n');
  }
}

/** The terminal prompts of the real process: questions on `output` (stderr), answers from `input`. */
export function terminalPrompter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Prompter {
  return {
    secret: (question) => ask(input, output, question, false),
    confirm: async (question) => isYes(await ask(input, output, question, true)),
  };
}
