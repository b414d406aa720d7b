import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PandaError, isPandaError } from '@panda-secrets/protocol';
import { describeRunError } from './redact.js';
import type { RunAsUser } from './users.js';
import { createJobDir, forgetJobDir, handOverJobDir, removeJobDir } from './job-dir.js';
import { removeEntries } from './remove-as-owner.js';
import { writeSecretFiles } from './secret-files.js';

/**
 * One job for a supervisor, sent by the pilot on the supervisor's stdin (see SupervisorInput).
 * Nothing of it is in an argument or an environment variable, where other processes could read it.
 */
export interface SupervisorRequest {
  jobId: string;
  /** The payload, run as `bash -c command`. */
  command: string;
  /** The payload's whole environment, env secrets included. */
  env: Record<string, string>;
  /** File secrets: name to base64 bytes. */
  files: Record<string, string>;
  /** The work root, as prepareWorkRoot resolved it. */
  workRoot: string;
  keepWorkdir: boolean;
  killGraceMs: number;
  runAs?: RunAsUser;
  /** Absolute paths the payload must not read (the pilot's token file): covered with /dev/null in its mount namespace. */
  hiddenFiles?: string[];
}

/** How a job ended, or why it could not run or be cleaned up: what the supervisor reports of it. */
export type SupervisorEvent =
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'failed'; code: string; message: string };

/**
 * What a supervisor reads on its stdin, one JSON line each, tagged with the pilot's number for the
 * job (`id`): a job to run, or a stop for a running one. The end of its stdin (the pilot is gone,
 * even killed with SIGKILL) kills every job at once.
 */
export type SupervisorInput = { type: 'run'; id: number; job: SupervisorRequest } | { type: 'stop'; id: number };

/**
 * What a supervisor writes on its file descriptor 3, one JSON line each, tagged with the job's
 * `id`: the payload's output (base64 of its bytes, `fd` 1 or 2), the job's events, and `done`,
 * the last line of a job, once its output has all been passed on and its directory removed.
 */
export type SupervisorOutput =
  | { id: number; type: 'output'; fd: 1 | 2; data: string }
  | ({ id: number } & SupervisorEvent)
  | { id: number; type: 'done' }
  // The supervisor's last line when an error crashes it (a bug): what describeCrash tells of it, never its message.
  | { type: 'crashed'; error: string };

/**
 * How a running job is to end: `stop` asks the payload with SIGTERM and kills what is left after
 * the grace time (the pilot was stopped); `kill` kills at once (the pilot is gone). A kill may
 * follow a stop, and cuts its grace time short.
 */
export interface JobStops {
  stop: Promise<void>;
  kill: Promise<void>;
}

/** Where a job's supervisor sends what it has to say about the job. */
export interface JobReports {
  /** Passes on a piece of the payload's output; false when the pilot is behind, so reading waits for `drained`. */
  output(fd: 1 | 2, chunk: Buffer): boolean;
  drained(): Promise<void>;
  send(event: SupervisorEvent): void;
}

/**
 * PID 1 of the job's PID namespace, run as root (or as root of the job's user namespace) with a clean
 * environment. It hides the work root behind an empty tmpfs but for the job's own directory (other
 * jobs' directories and the pilot's owner files are not there for the payload), starts the payload
 * ("$@") as its child and ends with the payload's status. When it ends, the kernel kills every
 * other process of the namespace, however it left the payload's process group or session. On
 * SIGTERM it passes SIGTERM to every process of the namespace. Before all that, while it still has
 * the rights to, it binds /dev/null over each of the `hidden` files that follow (the pilot's token
 * file): a file that is gone has nothing to hide; one it cannot cover stops the job.
 */
const INIT_SCRIPT = `
root=$1 name=$2 hidden=$3
shift 3
while [ "$hidden" -gt 0 ]; do
  mount --bind /dev/null "$1" 2>/dev/null || [ ! -e "$1" ] || { echo "panda-job-init: cannot hide the pilot's token file from the job" >&2; exit 125; }
  hidden=$((hidden - 1))
  shift
done
mount -t tmpfs -o size=16k,nr_inodes=16,mode=0711 panda-job "$root" &&
  mount --no-canonicalize -o X-mount.mkdir --bind . "$root/$name" &&
  cd "$root/$name" || exit 125
"$@" &
child=$!
# The payload keeps stdout and stderr; bash's own notes ("Killed") are not the job's output.
exec 3<&- 2>/dev/null
trap 'kill -TERM -1 2>/dev/null' TERM
while :; do wait "$child"; status=$?; kill -0 "$child" 2>/dev/null || break; done
exit "$status"
`;

/**
 * Run as the payload's user, after the switch: takes the payload's environment from file descriptor
 * 3 (each `NAME=value` after a line with its size in bytes, as the supervisor writes it) and runs the
 * payload. Nothing that runs with more rights than the payload ever sees the payload's environment
 * (a secret named BASH_ENV or LD_PRELOAD would act on it). Each entry is one read of its size in
 * bytes (LC_ALL=C while reading; bash reads a pipe one byte per call up to a delimiter, so
 * NUL-separated entries cost a system call per byte); the entries are exported all at once from the
 * positional parameters, so a variable named like one of the loader's own (`size`, `var`, `entries`,
 * `LC_ALL`) keeps its value.
 */
const LOADER_SCRIPT = `
LC_ALL=C
while IFS= read -r -u 3 size; do IFS= read -r -u 3 -N "$size" var || exit 125; entries+=("$var"); done
[ -z "$size" ] && exec 3<&- || exit 125
set -- "$1" "$2" "${'$'}{entries[@]}"
unset entries LC_ALL
[ "$#" -le 2 ] || export -- "${'$'}{@:3}" 2>/dev/null
exec -a bash "$2" -c "$1"
`;

/** The directories searched for the programs a job is started with, whatever PATH the payload is given. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The command that starts `request`'s payload in its own PID and mount namespaces. As root: the namespaces of the machine's user namespace, the
 * payload switched to the --run-as user by setpriv. Otherwise: a user namespace mapping the pilot's
 * user to root, for the set-up, and a nested one mapping it back, so the payload runs under the
 * pilot's uid without any capability.
 */
function isolatedCommand(request: SupervisorRequest, dir: string, bash: string): string[] {
  const asRoot = process.getuid?.() === 0;
  const hidden = request.hiddenFiles ?? [];
  const namespaces = ['--pid', '--fork', '--kill-child', '--mount', '--mount-proc', '--propagation', 'private'];
  const userSwitch = asRoot
    ? request.runAs === undefined
      ? []
      : ['setpriv', `--reuid=${request.runAs.uid}`, `--regid=${request.runAs.gid}`, '--clear-groups', '--']
    : ['unshare', '--user', `--map-user=${process.getuid?.()}`, `--map-group=${process.getgid?.()}`, '--'];
  return [
    // If this supervisor dies, unshare dies, and with it (--kill-child) the namespace's init and every process of the job.
    'setpriv',
    '--pdeathsig',
    'KILL',
    '--',
    'unshare',
    ...(asRoot ? [] : ['--user', '--map-root-user']),
    ...namespaces,
    '--',
    'bash',
    '-c',
    INIT_SCRIPT,
    'panda-job-init',
    request.workRoot,
    basename(dir),
    String(hidden.length),
    ...hidden,
    ...userSwitch,
    bash,
    '-c',
    LOADER_SCRIPT,
    'panda-job',
    request.command,
    bash,
  ];
}

/** Calls `onLine` with each line of `stream` (UTF-8, without its newline): the supervisor's messages either way. */
export function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end >= 0; end = chunk.indexOf('\n', start)) {
      onLine(buffered + chunk.slice(start, end));
      buffered = '';
      start = end + 1;
    }
    buffered += chunk.slice(start);
  });
}

/** The pid of the namespace's init: unshare's only child. */
async function initPid(unsharePid: number): Promise<number | undefined> {
  const children = await readFile(`/proc/${unsharePid}/task/${unsharePid}/children`, 'latin1').catch(() => '');
  const pid = Number.parseInt(children, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/**
 * The environment as the loader reads it: each `NAME=value` after a line with its size in bytes. A
 * value holding NUL could not reach the payload (no process environment carries one).
 */
function environmentBlock(env: Record<string, string>): Buffer {
  const pieces: Buffer[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (name.includes('\0') || name.includes('=') || value.includes('\0')) {
      throw new PandaError(
        'INVALID_INPUT',
        `the environment variable ${JSON.stringify(name.replaceAll('\0', ''))} holds a NUL character or its name an "=", which no process environment can carry`,
      );
    }
    const entry = Buffer.from(`${name}=${value}`, 'utf8');
    pieces.push(Buffer.from(`${entry.length}\n`, 'latin1'), entry);
  }
  return Buffer.concat(pieces);
}

/** How long output may keep flowing after the payload's namespace ended (nothing of it should hold a pipe by then). */
const OUTPUT_DRAIN_MS = 2000;

/** Passes one output stream of the payload on, waiting while the pilot is behind; resolves when it closes. */
function forward(stream: NodeJS.ReadableStream, fd: 1 | 2, reports: JobReports): Promise<void> {
  stream.on('data', (chunk: Buffer) => {
    if (reports.output(fd, chunk)) return;
    stream.pause();
    void reports.drained().then(() => stream.resume());
  });
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
  });
}

/** Runs the payload in its namespaces until it ends or `stops` says how to end it; its output goes to `reports`. */
async function runIsolated(
  request: SupervisorRequest,
  dir: string,
  stops: JobStops,
  reports: JobReports,
  bash: string,
): Promise<SupervisorEvent> {
  const env = environmentBlock(request.env);
  const [program, ...args] = isolatedCommand(request, dir, bash);
  const child = spawn(program!, args, {
    cwd: dir,
    env: { PATH: SYSTEM_PATH },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const outputs = Promise.all([forward(child.stdout!, 1, reports), forward(child.stderr!, 2, reports)]);
  const exited = new Promise<SupervisorEvent>((resolve) => {
    child.once('error', (error) =>
      resolve({ type: 'failed', code: 'CONFIG', message: `cannot start the job's namespaces: ${error.message}` }),
    );
    child.once('exit', (code, exitSignal) => resolve({ type: 'exited', code, signal: exitSignal }));
  });
  const envPipe = child.stdio[3] as NodeJS.WritableStream;
  envPipe.on('error', () => undefined);
  envPipe.end(env);
  const init = async (): Promise<number | undefined> => (child.pid === undefined ? undefined : initPid(child.pid));
  const kill = async (): Promise<void> => {
    signal(await init(), 'SIGKILL');
    signal(child.pid, 'SIGKILL');
  };
  void stops.stop.then(async () => {
    signal(await init(), 'SIGTERM');
    const ended = await Promise.race([
      exited.then(() => true),
      stops.kill.then(() => false),
      delay(request.killGraceMs, false, { ref: false }),
    ]);
    if (!ended) await kill();
  });
  void stops.kill.then(kill);
  const event = await exited;
  const drained = await Promise.race([outputs.then(() => true), delay(OUTPUT_DRAIN_MS, false, { ref: false })]);
  if (!drained) {
    child.stdout!.destroy();
    child.stderr!.destroy();
  }
  return event;
}

/**
 * The report of an error that kept the job from running or from being cleaned up. The pilot
 * passes its message on to the job's log, so it says only what describeRunError keeps: our own
 * messages (names, never values) and the operating system's code, call and path; any other
 * message may quote the job's secrets.
 */
export function failure(error: unknown): SupervisorEvent {
  return { type: 'failed', code: isPandaError(error) ? error.code : 'CONFIG', message: describeRunError(error) };
}

/**
 * Runs one job to its end and cleans up after it: the job's directory and owner file, its secret
 * files, the payload in its namespaces, and the removal of it all whatever happens. Reports its
 * output and events through `reports`. `bash` is the absolute path of bash.
 */
export async function supervise(
  request: SupervisorRequest,
  stops: JobStops,
  reports: JobReports,
  bash: string,
): Promise<void> {
  let dir: string | undefined;
  let files: string[] = [];
  try {
    dir = await createJobDir(request.workRoot, request.jobId);
    files = await writeSecretFiles(dir, request.files, request.runAs);
    if (request.runAs !== undefined) await handOverJobDir(dir, request.runAs);
    reports.send(await runIsolated(request, dir, stops, reports, bash));
  } catch (error) {
    reports.send(failure(error));
  } finally {
    try {
      if (dir !== undefined && request.keepWorkdir) {
        // A kept directory holds no secret: no later pilot needs to find it.
        await removeEntries(dir, files);
        await forgetJobDir(dir);
      } else if (dir !== undefined) {
        await removeJobDir(dir);
      }
    } catch (error) {
      reports.send(failure(error));
    }
  }
}
