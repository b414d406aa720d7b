import { spawn } from 'node:child_process';
import { binPath } from '@panda-secrets/testkit';

export interface TerminalRun {
  code: number | null;
  /** Everything the terminal showed, escape sequences removed and CR LF made LF. */
  screen: string;
  /**
   * The lines as the terminal shows them at the end: carriage returns, cursor moves and erasures
   * applied, so text a program wrote and then erased is not there.
   */
  display: string;
}

export interface TerminalOptions {
  /**
   * Paste: type every line at once, then end the input (a Ctrl-D right after the paste). Otherwise
   * each line is typed once pbook shows a prompt (`>>> `, `[y/N] ` or `Value of NAME: `), like a person would, and
   * the input ends (Ctrl-D) at the prompt after the last line unless pbook has exited by then.
   */
  paste?: boolean;
  timeoutMs?: number;
  /** The terminal's width; without it, the terminal does not say (0 columns). */
  columns?: number;
}

const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
const PROMPT_AT_END = /(?:>>> |\[y\/N\] |Value of \w+: |Password: |Token: |Value: )$/;

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function screenOf(chunks: Buffer[]): string {
  return Buffer.concat(chunks).toString('utf8').replace(ESCAPES, '').replace(/\r+\n/g, '\n');
}

/**
 * What a terminal displays after `output`, for the sequences readline writes: CR, LF, backspace,
 * cursor moves (`A` up, `B` down, `C` right, `D` left, `G` to a column) and erasures (`K` in the
 * line, `J` from the cursor to the screen's end). Colours and other sequences change no text. Lines do not
 * wrap: the tests keep them within the terminal's width.
 */
function displayOf(output: string): string {
  const rows: string[][] = [[]];
  let row = 0;
  let column = 0;
  const line = (): string[] => {
    while (rows.length <= row) rows.push([]);
    return rows[row] as string[];
  };
  for (const [, sequence, count, command, char] of output.matchAll(/(\x1b\[([0-9;?]*)([A-Za-z]))|([\s\S])/gu)) {
    const n = Number.parseInt(count ?? '', 10) || 1;
    if (sequence !== undefined) {
      if (command === 'A') row = Math.max(0, row - n);
      else if (command === 'B') row += n;
      else if (command === 'C') column += n;
      else if (command === 'D') column = Math.max(0, column - n);
      else if (command === 'G') column = n - 1;
      else if (command === 'K') {
        // 0 (or none): to the line's end; 1: to the cursor; 2: the whole line.
        const cells = line();
        if (count === '2') cells.length = 0;
        else if (count === '1') cells.fill(' ', 0, column + 1);
        else cells.length = Math.min(cells.length, column);
      } else if (command === 'J') {
        line().length = Math.min(line().length, column);
        rows.length = row + 1;
      }
    } else if (char === '\r') column = 0;
    else if (char === '\n') {
      row += 1;
      column = 0;
    } else if (char === '\b') column = Math.max(0, column - 1);
    else if (char !== undefined) {
      const cells = line();
      while (cells.length < column) cells.push(' ');
      cells[column] = char;
      column += 1;
    }
  }
  // Blank lines below the last text show nothing.
  return rows
    .map((cells) => cells.join('').trimEnd())
    .join('\n')
    .replace(/\n+$/, '');
}

/**
 * Runs pbook on a real pseudo-terminal (util-linux `script`), so stdin, stdout and stderr are
 * all TTYs as for a person at a terminal, and types `lines` into it.
 */
export function runPbookInTerminal(
  args: string[],
  lines: string[],
  env: NodeJS.ProcessEnv,
  options: TerminalOptions = {},
): Promise<TerminalRun> {
  const resize = options.columns === undefined ? '' : `stty cols ${options.columns}; exec `;
  const command = resize + [process.execPath, binPath('pbook'), ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...env, TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const output: Buffer[] = [];
    const pending = [...lines];
    // Where the screen stood when the last line was typed: a prompt must appear after it.
    let typedAt = 0;
    const typeAtPrompt = (): void => {
      if (options.paste || child.stdin.writableEnded) return;
      const screen = screenOf(output);
      if (screen.length <= typedAt || !PROMPT_AT_END.test(screen)) return;
      typedAt = screen.length;
      const line = pending.shift();
      if (line === undefined) child.stdin.end();
      else void typeLine(line);
    };
    // A Ctrl-C or Ctrl-D alone is pressed without Enter. A Tab is pressed on its own, a moment
    // after what precedes it: readline takes a Tab that arrives with other characters as pasted text.
    const typeLine = async (line: string): Promise<void> => {
      if (/^[\u0003\u0004]$/.test(line)) {
        child.stdin.write(line);
        return;
      }
      const parts = line.split(/(\t)/);
      for (const part of parts) {
        if (part === '') continue;
        child.stdin.write(part);
        if (parts.length > 1) await new Promise((wait) => setTimeout(wait, 300));
      }
      child.stdin.write('\n');
    };
    const collect = (chunk: Buffer): void => {
      output.push(chunk);
      typeAtPrompt();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen: screenOf(output), display: displayOf(Buffer.concat(output).toString('utf8')) });
    });
    child.stdin.on('error', () => undefined);
    if (options.paste) child.stdin.end(lines.map((line) => `${line}\n`).join(''));
  });
}
