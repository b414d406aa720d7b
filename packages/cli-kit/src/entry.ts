import { setTimeout as delay } from 'node:timers/promises';
import { hideBin } from 'yargs/helpers';
import type { SignInSource } from '@panda-secrets/client';
import { PandaError } from '@panda-secrets/protocol';
import { showDevicePrompt } from './device-prompt.js';
import type { OutputStreams, ProgramIo } from './program.js';
import { fileTokenCache, tokenCachePath } from './token-cache.js';

/** What a CLI's entry point hands over of its process; this package reads nothing else of it. */
export interface CliProcess extends OutputStreams {
  /** `process.argv`: node, the script, then the arguments. */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Ends the process; given, a closed stdout or stderr ends it quietly (see endQuietlyOnClosedOutput). */
  exit?(code?: number): void;
}

/**
 * Makes a reader that stops reading (`pbook list-secrets | head -1`) end the program quietly with
 * exit 0, as git and other Unix tools do, instead of crashing with an EPIPE stack trace: once a
 * stream's reader is gone, what is left to write has nowhere to go. Other stream errors are
 * left alone.
 */
function endQuietlyOnClosedOutput(streams: readonly NodeJS.WritableStream[], exit: (code: number) => void): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') exit(0);
      else throw error;
    });
  }
}

/** The client package's export a CLI makes its client with. */
export interface ClientModule<Options, Client> {
  PandaClient: new (options: Options) => Client;
}

/** What a CLI that talks to panda-server takes from its entry point to make its client. */
export interface ClientMaking<Options, Client> {
  /** Makes the API client; the client package (and got) load on the first call only. */
  createClient(options: Options): Promise<Client>;
  /**
   * How a person is signed in when no token is given: PanDA's token cache, and the device flow's
   * prompt on stderr when stderr is a terminal (without one, nobody would see it).
   */
  signIn?: SignInSource;
}

/** What every CLI's program takes from its entry point, besides what is its own. */
export interface CliDeps<Options, Client> extends ProgramIo, ClientMaking<Options, Client> {}

export interface CliContext {
  /** The arguments after the script's name. */
  args: string[];
  /** The version in the program's package.json. */
  version: string;
  deps: ProgramIo;
}

function packageVersion(packageJson: string): string {
  const { version } = JSON.parse(packageJson) as { version?: unknown };
  if (typeof version !== 'string') throw new PandaError('CONFIG', 'the package.json of this program names no version');
  return version;
}

/** The sign-in as a process does it: its clock, PanDA's cache file, its stderr. */
export function processSignIn(proc: Pick<CliProcess, 'env' | 'stderr'>): SignInSource {
  const onTerminal = (proc.stderr as { isTTY?: boolean }).isTTY === true;
  return {
    cache: fileTokenCache(tokenCachePath(proc.env)),
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    say: (message) => proc.stderr.write(`${message}\n`),
    ...(onTerminal ? { prompt: (device) => showDevicePrompt(proc.stderr, device, { qr: true }) } : {}),
  };
}

/**
 * What a CLI's entry point hands its program: the arguments, the version from the text of its
 * package.json, the process' environment and output streams. A closed stdout or stderr ends the
 * process quietly.
 *
 * @example
 * const { args, version, deps } = cliContext(process, readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
 * main(args, { ...deps, ...clientMaking(process, () => import('@panda-secrets/client')) }, version).then((code) => {
 *   process.exitCode = code;
 * });
 */
export function cliContext(proc: CliProcess, packageJson: string): CliContext {
  if (proc.exit !== undefined) endQuietlyOnClosedOutput([proc.stdout, proc.stderr], proc.exit);
  return {
    args: hideBin([...proc.argv]),
    version: packageVersion(packageJson),
    deps: { env: proc.env, stdout: proc.stdout, stderr: proc.stderr },
  };
}

/** Waits `ms`, or less when `signal` aborts; never rejects, so a stopped wait just ends. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}

/**
 * How a CLI that talks to panda-server makes its client: a factory that imports the client package
 * only when the program makes a client, so that `--help` stays fast, and the process' sign-in.
 */
export function clientMaking<Options, Client>(
  proc: Pick<CliProcess, 'env' | 'stderr'>,
  loadClient: () => Promise<ClientModule<Options, Client>>,
): ClientMaking<Options, Client> {
  return {
    createClient: async (options) => new (await loadClient()).PandaClient(options),
    signIn: processSignIn(proc),
  };
}
