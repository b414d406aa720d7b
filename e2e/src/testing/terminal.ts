import { spawn } from 'node:child_process';
import { binPath } from '@panda-secrets/testkit';

export interface TerminalRun {
  code: number | null;
  /** Everything the terminal showed, escape sequences removed and CR LF made LF. */
  screen: string;
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
const PROMPT_AT_END = /(?:>>> |\[y\/N\] |Value of \w+: |Password: |Value: )$/;

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function screenOf(chunks: Buffer[]): string {
  return Buffer.concat(chunks).toString('utf8').replace(ESCAPES, '').replace(/\r+\n/g, '\n');
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
      resolve({ code, screen: screenOf(output) });
    });
    child.stdin.on('error', () => undefined);
    if (options.paste) child.stdin.end(lines.map((line) => `${line}\n`).join(''));
  });
}
