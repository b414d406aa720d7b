import { spawn } from 'node:child_process';
import { binPath, type BinName } from '@panda-secrets/testkit';

export interface SignInRun {
  code: number | null;
  /** stdout and stderr as they came (on a terminal: the screen, escapes removed). */
  output: string;
  stdout: string;
  /** Milliseconds from start to exit. */
  elapsedMs: number;
}

export interface SignInRunOptions {
  env: NodeJS.ProcessEnv;
  /** Run on a pseudo-terminal (util-linux `script`): stdin, stdout and stderr are TTYs. */
  terminal?: boolean;
  /** Called once when the program asks the person to sign in, with the page and the code it shows. */
  onPrompt?: (verificationUri: string, userCode: string) => Promise<unknown>;
  timeoutMs?: number;
}

const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
const PROMPT = /go to (\S+) and enter the code (\S+?)\)?\./;

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs a CLI as a person who signs in when asked: when the program shows the URL and the user
 * code, `onPrompt` completes the sign-in (through the provider's pages), and the run goes on.
 */
export function runSigningIn(name: BinName, args: string[], options: SignInRunOptions): Promise<SignInRun> {
  const started = Date.now();
  const command = [process.execPath, binPath(name), ...args];
  const child = options.terminal
    ? spawn('script', ['-qfec', command.map(shellQuote).join(' '), '/dev/null'], {
        env: { ...options.env, TERM: 'xterm' },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(command[0] as string, command.slice(1), { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const output: Buffer[] = [];
    const stdout: Buffer[] = [];
    let prompted: Promise<unknown> = Promise.resolve();
    let seen = false;
    const collect = (chunk: Buffer, isStdout: boolean): void => {
      output.push(chunk);
      if (isStdout) stdout.push(chunk);
      const match = PROMPT.exec(Buffer.concat(output).toString('utf8').replace(ESCAPES, ''));
      if (match !== null && !seen && options.onPrompt !== undefined) {
        seen = true;
        prompted = options.onPrompt(match[1] as string, match[2] as string);
        prompted.catch(() => child.kill('SIGKILL'));
      }
    };
    child.stdout.on('data', (chunk: Buffer) => collect(chunk, true));
    child.stderr.on('data', (chunk: Buffer) => collect(chunk, false));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = (chunks: Buffer[]) =>
        Buffer.concat(chunks).toString('utf8').replace(ESCAPES, '').replace(/\r+\n/g, '\n');
      prompted.then(
        () => resolve({ code, output: text(output), stdout: text(stdout), elapsedMs: Date.now() - started }),
        reject,
      );
    });
    child.stdin.on('error', () => undefined);
    if (!options.terminal) child.stdin.end();
  });
}
