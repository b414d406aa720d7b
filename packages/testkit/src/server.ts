import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from this package's built file (packages/testkit/dist). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const BINS = {
  pbook: 'apps/pbook/bin/pbook.js',
  prun: 'apps/prun/bin/prun.js',
  'panda-server': 'apps/server/bin/panda-server.js',
  'panda-pilot': 'apps/pilot/bin/panda-pilot.js',
} as const;

export type BinName = keyof typeof BINS;

/** Absolute path of a CLI's launcher (it starts the bundle `npm run build` makes, bundle/cli.cjs). */
export function binPath(name: BinName): string {
  return join(REPO_ROOT, BINS[name]);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Run the bin as a user's shell does, through its #! line (sh, then the Node.js on PATH), not by this Node.js. */
  direct?: boolean;
  /**
   * A bash script to run instead, for shell syntax such as `<(command)`: `$BIN` in it is the bin,
   * run through its #! line; the arguments are left out.
   */
  bashScript?: string;
}

/** An environment without the variables through which a CLI would pick up the caller's own server or token. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(PANDA_|OIDC_AUTH_|NO_COLOR$|FORCE_COLOR$)/.test(name)) delete env[name];
  }
  // No saved sign-in of the person running the tests (~/.pathena/.token) takes part: tests that
  // sign in name their own PANDA_CONFIG_ROOT.
  return { ...env, PANDA_CONFIG_ROOT: join(tmpdir(), 'panda-tests-without-sign-in'), ...extra };
}

/** Runs a CLI as a real child process and collects its output. */
export function runCli(name: BinName, args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const [command, argv] =
      options.bashScript !== undefined
        ? ['bash', ['-c', options.bashScript]]
        : options.direct
          ? [binPath(name), args]
          : [process.execPath, [binPath(name), ...args]];
    const child = spawn(command, argv, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...(options.env ?? cleanEnv()), ...(options.bashScript === undefined ? {} : { BIN: binPath(name) }) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** A CLI started by {@link startCli}, running while the test goes on. */
export interface StartedCli {
  /** The process, for the test to signal. */
  child: ChildProcess;
  /** What the CLI has written to stderr so far. */
  stderr(): string;
  /** How it ended, once it has exited and its stderr is read to the end. */
  exited: Promise<Pick<CliResult, 'code' | 'signal'>>;
}

/**
 * Starts a CLI as a real child process and returns at once, for a test that signals it or reads its
 * stderr while it runs (a pilot); its stdin is empty and its stdout unread. {@link runCli} waits for the end.
 */
export function startCli(
  name: BinName,
  args: readonly string[],
  options: Pick<RunCliOptions, 'env' | 'cwd'> = {},
): StartedCli {
  const child = spawn(process.execPath, [binPath(name), ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<Pick<CliResult, 'code' | 'signal'>>((resolvePromise) =>
    child.once('close', (code, signal) => resolvePromise({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

export interface StartServerOptions {
  /** Data dir (default: a fresh temporary one). */
  dataDir?: string;
  /** Extra arguments of `panda-server serve`, e.g. ['--db', url]. */
  args?: readonly string[];
  /** Arguments of `serve` that describe the deployment (e.g. ['--db', url, '--issuer-key-file', f]); `token` gets the issuer key file of them. */
  sharedArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** The port to listen on (default: a free one); a restarted server takes its old port again. */
  port?: number;
}

export interface TokenOptions {
  role?: 'pilot';
  ttl?: string;
}

export interface RunningServer {
  url: string;
  dataDir: string;
  logFile: string;
  process: ChildProcess;
  /** Mints a token from this server's local issuer. */
  token(user: string, options?: TokenOptions): Promise<string>;
  /** Mints a token and writes it to a 0600 file in the data dir's parent; returns the path. */
  tokenFile(user: string, options?: TokenOptions): Promise<string>;
  /** Stops the server with SIGTERM (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/**
 * Starts `panda-server` as a real process on a free port of 127.0.0.1 and waits until it listens.
 *
 * @example
 * const server = await startServer();
 * const token = await server.token('alice');
 * await server.stop();
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'panda-server-')));
  const logFile = join(dataDir, 'server.log');
  const shared = [...(options.sharedArgs ?? [])];
  const env = options.env ?? cleanEnv();
  const child = spawn(
    process.execPath,
    [
      binPath('panda-server'),
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      String(options.port ?? 0),
      '--log-file',
      logFile,
      ...shared,
      ...(options.args ?? []),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`panda-server did not start within ${options.timeoutMs ?? 20_000} ms: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /panda-server listening on (\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`panda-server exited with ${code} before listening: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });

  // `token` takes only the issuer's options of the shared ones.
  const issuerArgs = shared.flatMap((arg, index) =>
    shared[index - 1] === '--issuer-key-file' ? ['--issuer-key-file', arg] : [],
  );

  async function token(user: string, tokenOptions: TokenOptions = {}): Promise<string> {
    const result = await runCli(
      'panda-server',
      [
        'token',
        '--data-dir',
        dataDir,
        ...issuerArgs,
        '--user',
        user,
        ...(tokenOptions.role ? ['--role', tokenOptions.role] : []),
        '--ttl',
        tokenOptions.ttl ?? '1h',
      ],
      { env },
    );
    if (result.code !== 0) throw new Error(`panda-server token failed: ${result.stderr}`);
    return result.stdout.trim();
  }

  return {
    url,
    dataDir,
    logFile,
    process: child,
    token,
    async tokenFile(user, tokenOptions) {
      const dir = await mkdtemp(join(tmpdir(), 'panda-token-'));
      const file = join(dir, `${user}.token`);
      await writeFile(file, `${await token(user, tokenOptions)}\n`, { mode: 0o600 });
      return file;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** One call to a running server's HTTP API with a bearer token: GET without a body, else POST of its JSON. */
export async function callApi(
  url: string,
  token: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, headers: response.headers, json: await response.json() };
}
