import { createInterface } from 'node:readline';

export interface LineReader {
  /**
   * The next line, or null at the end of input (Ctrl-D). On a terminal `prompt` is shown with
   * line editing and history; when piped it is not shown.
   */
  read(prompt: string): Promise<string | null>;
  /**
   * Asks a question and returns the answer; null when Ctrl-C or Ctrl-D was pressed instead, which
   * on a terminal cancel the question only: the shell goes on (Ctrl-D at the prompt still ends
   * it). Piped, the same as read.
   */
  ask(question: string): Promise<string | null>;
  /** Reads a line without showing what is typed, and keeps it out of the history. */
  hidden(prompt: string): Promise<string | null>;
  close(): void;
}

/** readline's handler of each key typed on a terminal (a Node internal, missing from its types). */
interface KeyHandler {
  _ttyWrite(text: string | undefined, key: { ctrl?: boolean; name?: string } | undefined): void;
  /** Where readline echoes what is typed (a Node internal, missing from its types). */
  _writeToOutput(text: string): void;
  history: string[];
}

/**
 * Reads the shell's lines with node:readline. History stays in memory only: lines hold secret
 * values, which must never be written to a history file.
 */
export function createLineReader(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  terminal: boolean,
  completer?: (line: string) => [string[], string],
): LineReader {
  const readline = createInterface({
    input,
    ...(terminal ? { output } : {}),
    ...(terminal && completer !== undefined ? { completer } : {}),
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
  // The line being read: kept when a question is cancelled, so the next read gets the next line.
  let pending: Promise<IteratorResult<string>> | undefined;
  let cancelQuestion: (() => void) | undefined;
  const keys = readline as unknown as KeyHandler;
  const typeKey = keys._ttyWrite.bind(readline);
  keys._ttyWrite = (text, key) => {
    if (cancelQuestion !== undefined && key?.ctrl === true && (key.name === 'c' || key.name === 'd')) {
      // Ctrl-C or Ctrl-D at a question answers it "no": readline would end the whole shell. What
      // was typed of the answer is dropped without redrawing the question.
      Object.assign(readline, { line: '', cursor: 0 });
      output.write(key.name === 'c' ? '^C\n' : '\n');
      cancelQuestion();
      return;
    }
    typeKey(text, key);
  };
  let muted = false;
  const echo = keys._writeToOutput.bind(readline);
  keys._writeToOutput = (text) => {
    if (!muted) echo(text);
  };
  const nextLine = async (prompt: string): Promise<string | null> => {
    if (terminal && !closed) {
      readline.setPrompt(prompt);
      readline.prompt();
    } else if (terminal) {
      output.write(prompt);
    }
    pending ??= lines.next();
    const next = await pending;
    pending = undefined;
    return next.done ? null : next.value;
  };
  readline.on('SIGINT', () => {
    // As Python's prompt: Ctrl-C drops the line being typed and prompts again.
    output.write('\nKeyboardInterrupt\n');
    readline.write(null, { ctrl: true, name: 'u' });
    readline.prompt();
  });
  return {
    read: nextLine,
    async hidden(prompt) {
      if (!terminal || closed) return nextLine(prompt);
      output.write(prompt);
      muted = true;
      const historyBefore = keys.history.length;
      try {
        return await nextLine('');
      } finally {
        muted = false;
        // readline put the hidden line at the front of the history: it must not be recalled.
        if (keys.history.length > historyBefore) keys.history.shift();
        output.write('\n');
      }
    },
    async ask(question) {
      if (!terminal || closed) return nextLine(question);
      const cancelled = new Promise<null>((resolve) => {
        cancelQuestion = () => resolve(null);
      });
      try {
        return await Promise.race([nextLine(question), cancelled]);
      } finally {
        cancelQuestion = undefined;
      }
    },
    close() {
      readline.close();
    },
  };
}
