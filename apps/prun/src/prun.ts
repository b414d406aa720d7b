import { ENV_NAME_RULE, FILE_NAME_RULE, FILE_PREFIX, FINAL_JOB_STATES, PandaError, parseWireKey } from '@panda-secrets/protocol';
import type { JobInfo, JobSpec } from '@panda-secrets/protocol';
import type { PandaClient } from '@panda-secrets/client';
import { renderRows } from '@panda-secrets/table';

/** The client calls prun makes; unit tests pass a fake with these methods. */
export type PrunClient = Pick<PandaClient, 'getSecrets' | 'submitJobs' | 'getJob' | 'getJobLog'>;

export interface PrunOptions {
  exec: string;
  outDS: string;
  nJobs: number;
  /** Attach references to all of the user's secrets. */
  useSecrets: boolean;
  /** Attach only these (plain names, file names or wire keys); implies useSecrets. */
  secrets?: string[];
  noSubmit: boolean;
  wait: boolean;
  json: boolean;
}

/** Everything prun takes from its process, injected so that tests drive it. */
export interface PrunDeps {
  /** Connects on first use: --noSubmit without secrets needs no server and no token. */
  connect(): Promise<PrunClient>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTTY: { stdout: boolean; stderr: boolean };
  /** Colour in tables (a TTY without NO_COLOR). */
  color: boolean;
  sleep(ms: number): Promise<void>;
  /** Time between two looks at the jobs with --wait. */
  pollMs: number;
}

/**
 * The wire keys of the secrets the jobs get. The values the server sends along are dropped at once:
 * only the names leave this function, and only names go into a job spec.
 */
async function secretReferences(deps: PrunDeps, options: PrunOptions): Promise<string[]> {
  if (options.secrets === undefined && !options.useSecrets) return [];
  const client = await deps.connect();
  if (options.secrets === undefined) {
    const keys = Object.keys(await client.getSecrets()).sort();
    if (keys.length === 0) deps.stderr.write('prun: warning: you have no secrets; the jobs get none\n');
    return keys;
  }
  const candidates = options.secrets.map(candidateKeys);
  const existing = new Set(Object.keys(await client.getSecrets([...new Set(candidates.flat())])));
  return [
    ...new Set(
      options.secrets.map((name, index) => {
        const found = candidates[index]?.find((key) => existing.has(key));
        if (found === undefined) {
          throw new PandaError(
            'NOT_FOUND',
            `you have no secret ${JSON.stringify(name)} (neither an env secret nor a secret file of that name); nothing was submitted`,
          );
        }
        return found;
      }),
    ),
  ];
}

/**
 * The wire keys a name given to --secrets may stand for, in order of preference: the key itself,
 * else the secret file of that name. A name valid as neither is refused.
 */
function candidateKeys(name: string): string[] {
  const forms = name.startsWith(FILE_PREFIX) ? [name] : [name, FILE_PREFIX + name];
  const valid = forms.filter((key) => {
    try {
      parseWireKey(key);
      return true;
    } catch {
      return false;
    }
  });
  if (valid.length === 0) {
    throw new PandaError(
      'INVALID_NAME',
      `${JSON.stringify(name)} is neither a secret name (${ENV_NAME_RULE}) nor a secret file name (${FILE_NAME_RULE})`,
    );
  }
  return valid;
}

/** prun's --json output: stable, indented, one trailing newline. */
function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A job as every JSON output shows it: its secrets an array of names, its exit code a number or null. */
function jobJson(job: JobInfo) {
  return { id: job.id, state: job.state, outDS: job.spec.outDS, secrets: job.spec.secrets, exitCode: job.exitCode };
}

function describeSpecs(specs: JobSpec[]): string {
  const [spec] = specs;
  if (spec === undefined) return '';
  return [
    `prun would submit ${specs.length} job(s):`,
    `  exec:    ${spec.exec}`,
    `  outDS:   ${spec.outDS}`,
    `  secrets: ${spec.secrets.length === 0 ? '(none)' : spec.secrets.join(', ')}`,
    '',
  ].join('\n');
}

function jobRows(jobs: JobInfo[]): string[][] {
  return jobs.map((job) => [job.id, job.state, job.spec.outDS, job.spec.secrets.join(',')]);
}

const SPINNER = ['|', '/', '-', '\\'];

/** Polls until every job has ended; a progress line on stderr only when it is a terminal. */
async function waitForJobs(deps: PrunDeps, client: PrunClient, ids: string[]): Promise<JobInfo[]> {
  for (let tick = 0; ; tick += 1) {
    const jobs = await Promise.all(ids.map((id) => client.getJob(id)));
    const open = jobs.filter((job) => !FINAL_JOB_STATES.includes(job.state));
    if (deps.isTTY.stderr) {
      deps.stderr.write(
        open.length === 0
          ? '\r\x1b[K'
          : `\r\x1b[K${SPINNER[tick % SPINNER.length]} waiting for ${open.length} of ${jobs.length} job(s): ` +
              `${open.filter((job) => job.state === 'running').length} running`,
      );
    }
    if (open.length === 0) return jobs;
    await deps.sleep(deps.pollMs);
  }
}

function failed(job: JobInfo): boolean {
  return job.state !== 'finished' || job.exitCode !== 0;
}

/** How a job ended, as its log header and prun's failure lines say it. */
function describeEnd(job: JobInfo): string {
  return `${job.state}, ${job.exitCode === null ? 'no exit code' : `exit code ${job.exitCode}`}`;
}

/** prun's exit status after --wait: 0 when every job finished with 0, else the first failure's code. */
function waitExitCode(jobs: JobInfo[]): number {
  const first = jobs.find(failed);
  if (first === undefined) return 0;
  return first.exitCode !== null && first.exitCode !== 0 ? first.exitCode : 1;
}

async function printLogs(deps: PrunDeps, client: PrunClient, jobs: JobInfo[], json: boolean): Promise<void> {
  const logs = await Promise.all(jobs.map((job) => client.getJobLog(job.id)));
  if (json) {
    deps.stdout.write(toJson(jobs.map((job, index) => ({ ...jobJson(job), log: logs[index]?.log ?? '' }))));
    return;
  }
  jobs.forEach((job, index) => {
    if (jobs.length > 1) deps.stdout.write(`== job ${job.id}: ${describeEnd(job)}\n`);
    deps.stdout.write(logs[index]?.log ?? '');
  });
}

/**
 * Submits `nJobs` jobs running `exec`, with references to the chosen secrets; prints the job ids,
 * or with --wait follows them and prints their masked logs. Returns prun's exit status.
 *
 * @example
 * const status = await runPrun(deps, { exec: 'python3 job.py', outDS: 'user.me.test', nJobs: 1,
 *   useSecrets: true, noSubmit: false, wait: true, json: false });
 */
export async function runPrun(deps: PrunDeps, options: PrunOptions): Promise<number> {
  const secrets = await secretReferences(deps, options);
  const specs: JobSpec[] = Array.from({ length: options.nJobs }, () => ({
    exec: options.exec,
    outDS: options.outDS,
    secrets: [...secrets],
  }));
  if (options.noSubmit) {
    deps.stdout.write(options.json ? toJson({ jobs: specs }) : describeSpecs(specs));
    return 0;
  }
  const client = await deps.connect();
  const { jobs: submitted } = await client.submitJobs(specs);
  if (!options.wait) {
    if (options.json) {
      deps.stdout.write(toJson(submitted.map(jobJson)));
    } else {
      const format = deps.isTTY.stdout ? 'table' : 'plain';
      deps.stdout.write(renderRows(['Job ID', 'State', 'OutDS', 'Secrets'], jobRows(submitted), { format, color: deps.color }));
    }
    return 0;
  }
  const ended = await waitForJobs(deps, client, submitted.map((job) => job.id));
  await printLogs(deps, client, ended, options.json);
  // On stderr, after the logs: a failed job's own log may well not say that it failed.
  for (const job of ended.filter(failed)) deps.stderr.write(`prun: job ${job.id} ${describeEnd(job)}\n`);
  return waitExitCode(ended);
}
