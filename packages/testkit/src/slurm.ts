import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { announceSkip } from './skips.js';

const run = promisify(execFile);

/** The programs a single-node cluster needs (Debian packages slurm-wlm and munge). */
const SLURM_PROGRAMS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'scancel', 'squeue', 'scontrol', 'sinfo'] as const;
type SlurmProgram = (typeof SLURM_PROGRAMS)[number];

/** Where a program is: the daemons live in /usr/sbin, which is not on every user's PATH. */
function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((dir) => dir !== ''), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/**
 * The paths of Slurm's and munge's programs, or null when one is missing: then the Slurm tests are
 * skipped with one line saying so (under CI=true this throws instead, since CI installs them).
 */
export function slurmPrograms(): Record<SlurmProgram, string> | null {
  const found = SLURM_PROGRAMS.map((name) => [name, findProgram(name)] as const);
  const missing = found.filter(([, path]) => path === undefined).map(([name]) => name);
  if (missing.length > 0) {
    announceSkip(
      'Slurm',
      `${missing.join(', ')} not found`,
      "install Debian's slurm-wlm and munge to run them (.ci/run does)",
    );
    return null;
  }
  return Object.fromEntries(found) as Record<SlurmProgram, string>;
}

/** One Slurm job as `scontrol show job` describes it (ended jobs stay visible for MinJobAge). */
export interface SlurmJob {
  state: string;
  reason: string;
}

/** A single-node Slurm cluster of a test's own: munged, slurmctld and slurmd in a temporary folder. */
export interface SlurmCluster {
  dir: string;
  /** The node's name, this machine's host name. */
  node: string;
  /** The environment Slurm's commands need (SLURM_CONF), added to the caller's own. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Submits a batch script; returns the job id (of an array: its array job id). */
  sbatch(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string>;
  /** `scancel` with these arguments (a job id, or `--signal`, `--batch`, ...). */
  scancel(args: readonly string[]): Promise<void>;
  /** The jobs (array tasks listed one by one) that Slurm still runs or has queued, as `ID STATE` lines. */
  activeJobs(): Promise<string[]>;
  /** A job's state (RUNNING, COMPLETED, CANCELLED, TIMEOUT, ...) and reason. */
  job(id: string): Promise<SlurmJob>;
  /** Cancels every job, waits for them to end, stops the three daemons and removes the folder. */
  stop(): Promise<void>;
}

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

function startDaemon(name: string, file: string, args: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(file, args, { env, stdio: 'ignore' });
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });
  child.on('error', () => undefined);
  return { name, child, exited };
}

function alive(daemon: Daemon): boolean {
  return daemon.child.exitCode === null && daemon.child.signalCode === null;
}

async function stopDaemon(daemon: Daemon): Promise<void> {
  if (!alive(daemon)) return;
  daemon.child.kill('SIGTERM');
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), 15_000);
  await daemon.exited;
  clearTimeout(timer);
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  details: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms\n${await details()}`);
    await delay(300);
  }
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    return `--- ${path}\n${(await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n')}`;
  } catch {
    return `--- ${path}: none`;
  }
}

/**
 * Starts a single-node Slurm cluster with a slurm.conf of its own: munged on a private socket and
 * key, slurmctld and slurmd on free ports of 127.0.0.1, state and spool folders inside its
 * temporary folder, process tracking by /proc (no cgroups needed), the node with 16 CPUs so that
 * several one-CPU jobs run at once whatever the machine has. Slurm runs as the calling user
 * (root in CI). Every daemon started is stopped by `stop()`, and killed if the test process exits
 * without calling it.
 *
 * @example
 * const programs = slurmPrograms();
 * const cluster = programs && (await startSlurmCluster(programs));
 * const id = await cluster.sbatch(['--wrap', 'hostname']);
 * await cluster.stop();
 */
export async function startSlurmCluster(programs: Record<SlurmProgram, string>): Promise<SlurmCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'panda-slurm-'));
  // munged refuses a socket folder that not everyone can pass.
  await chmod(dir, 0o755);
  const mungeDir = join(dir, 'munge');
  await Promise.all(['state', 'spool', 'log'].map((name) => mkdir(join(dir, name), { mode: 0o700 })));
  await mkdir(mungeDir, { mode: 0o755 });
  const keyFile = join(mungeDir, 'munge.key');
  await writeFile(keyFile, randomBytes(128), { mode: 0o600 });
  const socket = join(mungeDir, 'munge.socket');
  const node = hostname();
  const [controllerPort, nodePort] = [await freePort(), await freePort()];
  const user = (await run('id', ['-un'])).stdout.trim();
  const conf = join(dir, 'slurm.conf');
  const plugstack = join(dir, 'plugstack.conf');
  await writeFile(plugstack, '');
  await writeFile(
    conf,
    [
      'ClusterName=pandatest',
      'SlurmctldHost=localhost',
      `SlurmctldPort=${controllerPort}`,
      `SlurmdPort=${nodePort}`,
      `SlurmUser=${user}`,
      `SlurmdUser=${user}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      `PlugStackConfig=${plugstack}`,
      'MailProg=/bin/true',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'SlurmdParameters=config_overrides',
      'MpiDefault=none',
      'ReturnToService=2',
      'SchedulerType=sched/backfill',
      // Slurm's default: SIGTERM at the time limit or on scancel, SIGKILL 30 s later.
      'KillWait=30',
      'MinJobAge=3600',
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=16 State=UNKNOWN`,
      'PartitionName=panda Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );

  // The cluster's own settings only: no SLURM_* of a surrounding job leaks into its commands.
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SLURM_')));
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...baseEnv, ...extra, SLURM_CONF: conf });
  const command = async (
    program: SlurmProgram,
    args: readonly string[],
    extraEnv?: NodeJS.ProcessEnv,
  ): Promise<string> =>
    (await run(programs[program], [...args], { env: env(extraEnv), cwd: dir, timeout: 60_000 })).stdout;

  const daemons: Daemon[] = [];
  const killAll = (): void => {
    for (const daemon of daemons) if (alive(daemon)) daemon.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const details = async (): Promise<string> =>
    (
      await Promise.all(
        [join(dir, 'log', 'slurmctld.log'), join(dir, 'log', 'slurmd.log'), join(mungeDir, 'munged.log')].map((path) =>
          tail(path),
        ),
      )
    ).join('\n');

  const activeJobs = async (): Promise<string[]> =>
    (await command('squeue', ['--noheader', '--array', '--format=%i %T']))
      .split('\n')
      .filter((line) => line.trim() !== '');

  const stop = async (): Promise<void> => {
    try {
      if (daemons.some((daemon) => daemon.name === 'slurmd' && alive(daemon))) {
        const ids = (await activeJobs().catch(() => [])).map((line) => line.split(' ')[0] ?? '');
        if (ids.length > 0) await command('scancel', ids).catch(() => undefined);
        // KillWait (30 s) bounds how long a job may take to end after its SIGTERM.
        await until(
          'the jobs did not end',
          60_000,
          async () => ((await activeJobs()).length === 0 ? true : undefined),
          details,
        ).catch(() => undefined);
      }
    } finally {
      // The node first, then its controller, then the authentication they both use.
      for (const daemon of [...daemons].reverse()) await stopDaemon(daemon);
      process.removeListener('exit', killAll);
      await rm(dir, { recursive: true, force: true });
    }
  };

  try {
    daemons.push(
      startDaemon(
        'munged',
        programs.munged,
        [
          '--foreground',
          '--force',
          `--socket=${socket}`,
          `--key-file=${keyFile}`,
          `--log-file=${join(mungeDir, 'munged.log')}`,
          `--pid-file=${join(mungeDir, 'munged.pid')}`,
          `--seed-file=${join(mungeDir, 'munged.seed')}`,
        ],
        env(),
      ),
    );
    await until(
      'munged did not create its socket',
      20_000,
      async () => (await stat(socket)).isSocket() || undefined,
      details,
    );
    daemons.push(startDaemon('slurmctld', programs.slurmctld, ['-D', '-f', conf], env()));
    await until(
      'slurmctld did not answer',
      30_000,
      async () => (await command('scontrol', ['ping'])).includes('UP') || undefined,
      details,
    );
    daemons.push(startDaemon('slurmd', programs.slurmd, ['-D', '-f', conf, '-N', node], env()));
    await until(
      'the node did not become idle',
      60_000,
      async () => (/idle/.test(await command('sinfo', ['--noheader', '--format=%T'])) ? true : undefined),
      details,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    dir,
    node,
    env,
    async sbatch(args, extraEnv) {
      const output = await command('sbatch', ['--parsable', ...args], extraEnv);
      return output.trim().split(';')[0] ?? '';
    },
    async scancel(args) {
      await command('scancel', args);
    },
    activeJobs,
    async job(id) {
      const text = await command('scontrol', ['show', 'job', '--oneliner', id]);
      return { state: /JobState=(\S+)/.exec(text)?.[1] ?? 'UNKNOWN', reason: /Reason=(\S+)/.exec(text)?.[1] ?? '' };
    },
    stop,
  };
}
