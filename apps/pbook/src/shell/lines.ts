import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** How a question ended: the line typed, or the key that cancelled it (Ctrl-C, or Ctrl-D at the end of input). */
export type Answer = { line: string } | { cancelled: 'ctrl-c' | 'ctrl-d' };

export interface LineReader {
  /**
   * The next line, or null at the end of input (Ctrl-D). On a terminal `prompt` is shown with
   * line editing and history; when piped it is not shown.
   */
  read(prompt: string): Promise<string | null>;
  /**
   * Asks a question and returns the answer, or which key cancelled it: on a terminal Ctrl-C and
   * Ctrl-D cancel the question only, and the shell goes on (Ctrl-D at the prompt still ends it).
   * `hidden`: what is typed is not shown and not kept in the history. Piped, the next line
   * (cancelled by Ctrl-D at the end of input), no question shown.
   */
  ask(question: string, options?: { hidden?: boolean }): Promise<Answer>;
  close(): void;
}

/** readline's handler of each key typed on a terminal (a Node internal, missing from its types). */
interface KeyHandler {
  _ttyWrite(text: string | undefined, key: { ctrl?: boolean; name?: string } | undefined): void;
  history: string[];
}

/**
 * `output` behind a gate for readline to write to: while `shut()`, everything readline writes is
 * dropped, its echo and its redrawing alike (a redraw moves to the line's start and erases what
 * follows, which would erase a hidden question's prompt). Width and resizes are `output`'s.
 */
function gatedOutput(output: NodeJS.WritableStream, shut: () => boolean): { stream: Writable; close(): void } {
  // Written through at once, so readline's writes and direct ones to `output` keep their order.
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!shut()) output.write(chunk);
      done();
    },
  });
  Object.defineProperty(stream, 'columns', { get: () => (output as { columns?: number }).columns });
  const resized = (): void => {
    stream.emit('resize');
  };
  output.on('resize', resized);
  return {
    stream,
    close() {
      output.off('resize', resized);
    },
  };
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
  // Set while a hidden answer is typed: readline shows nothing of it, and Tab must not complete
  // (and so change) a secret.
  let hiding = false;
  const gate = gatedOutput(output, () => hiding);
  const readline = createInterface({
    input,
    ...(terminal ? { output: gate.stream } : {}),
    ...(terminal && completer !== undefined
      ? { completer: (line: string): [string[], string] => (hiding ? [[], line] : completer(line)) }
      : {}),
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
    gate.close();
  });
  // The line being read: kept when a question is cancelled, so the next read gets the next line.
  let pending: Promise<IteratorResult<string>> | undefined;
  let cancelQuestion: ((key: 'ctrl-c' | 'ctrl-d') => void) | undefined;
  const keys = readline as unknown as KeyHandler;
  const typeKey = keys._ttyWrite.bind(readline);
  keys._ttyWrite = (text, key) => {
    if (cancelQuestion !== undefined && key?.ctrl === true && (key.name === 'c' || key.name === 'd')) {
      // Ctrl-C or Ctrl-D at a question cancels it only: readline would end the whole shell. What
      // was typed of the answer is dropped without redrawing the question.
      Object.assign(readline, { line: '', cursor: 0 });
      output.write(key.name === 'c' ? '^C\n' : '\n');
      cancelQuestion(key.name === 'c' ? 'ctrl-c' : 'ctrl-d');
      return;
    }
    typeKey(text, key);
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
  const answerOf = (line: string | null): Answer => (line === null ? { cancelled: 'ctrl-d' } : { line });
  readline.on('SIGINT', () => {
    // As Python's prompt: Ctrl-C drops the line being typed and prompts again.
    output.write('\nKeyboardInterrupt\n');
    readline.write(null, { ctrl: true, name: 'u' });
    readline.prompt();
  });
  return {
    read: nextLine,
    async ask(question, { hidden = false } = {}) {
      if (!terminal || closed) return answerOf(await nextLine(question));
      const cancelled = new Promise<Answer>((resolve) => {
        cancelQuestion = (key) => resolve({ cancelled: key });
      });
      const historyBefore = keys.history.length;
      // A hidden question is written here, once: readline, shut out, neither echoes nor redraws.
      if (hidden) output.write(question);
      hiding = hidden;
      try {
        const answer = await Promise.race([nextLine(hidden ? '' : question).then(answerOf), cancelled]);
        if (hidden && 'line' in answer) output.write('\n');
        return answer;
      } finally {
        cancelQuestion = undefined;
        hiding = false;
        // readline put the hidden line at the front of the history: it must not be recalled.
        if (hidden && keys.history.length > historyBefore) keys.history.shift();
      }
    },
    close() {
      readline.close();
    },
  };
}
