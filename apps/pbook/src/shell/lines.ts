import { createInterface } from 'node:readline';

export interface LineReader {
  /**
   * The next line, or null at the end of input (Ctrl-D). On a terminal `prompt` is shown with
   * line editing and history; when piped it is not shown.
   */
  read(prompt: string): Promise<string | null>;
  close(): void;
}

/**
 * Reads the shell's lines with node:readline. History stays in memory only: lines hold secret
 * values, which must never be written to a history file.
 */
export function createLineReader(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  terminal: boolean,
): LineReader {
  const readline = createInterface({
    input,
    ...(terminal ? { output } : {}),
    terminal,
    historySize: terminal ? 1000 : 0,
    removeHistoryDuplicates: true,
  });
  // One iterator for every read, so lines that arrive together are all kept, also for a
  // confirmation asked in the middle of pasted lines.
  const lines = readline[Symbol.asyncIterator]();
  // Ctrl-D can close the interface while typed-ahead lines are still queued. Those lines still
  // run, but readline must not be prompted again: prompting resumes stdin, and a resumed stdin
  // of a closed interface keeps the process alive after exit().
  let closed = false;
  readline.once('close', () => {
    closed = true;
  });
  readline.on('SIGINT', () => {
    // As Python's prompt: Ctrl-C drops the line being typed and prompts again.
    output.write('\nKeyboardInterrupt\n');
    readline.write(null, { ctrl: true, name: 'u' });
    readline.prompt();
  });
  return {
    async read(prompt) {
      if (terminal && !closed) {
        readline.setPrompt(prompt);
        readline.prompt();
      } else if (terminal) {
        output.write(prompt);
      }
      const next = await lines.next();
      return next.done ? null : next.value;
    },
    close() {
      readline.close();
    },
  };
}
