import {
  ENV_NAME_RULE,
  ExitCode,
  FILE_NAME_RULE,
  FILE_PREFIX,
  FINAL_JOB_STATES,
  PandaError,
  assertJobEnvFits,
  parseWireKey,
  wireKeysOf,
} from '@panda-secrets/protocol';
import type { JobInfo, JobSpec, SubmitJobsResponseData } from '@panda-secrets/protocol';
import type { ConnectionOptions, PandaClient } from '@panda-secrets/client';
import { renderRows } from '@panda-secrets/table';

/** The client calls prun makes; unit tests pass a fake with these methods. */
export type PrunClient = Pick<PandaClient, 'getSecretsMetadata' | 'submitJobs' | 'getTask' | 'getJobLog'>;

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
  /** The client, made on first use: --noSubmit without secrets needs no server and no token. */
  client(): Promise<PrunClient>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTTY: { stdout: boolean; stderr: boolean };
  /** Waits `ms`, or less when `signal` is aborted. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Calls `handler` on Ctrl-C (SIGINT) until the returned function is called; meanwhile Ctrl-C does not end prun. */
  onInterrupt(handler: () => void): () => void;
  /** Time between two looks at the jobs with --wait. */
  pollMs: number;
}

/** prun's options that are not the submission's. */
export interface PrunGlobal {
  connection: ConnectionOptions;
  /** Colour in tables: not turned off by --no-color, on a terminal, without NO_COLOR (cli-kit's useColor). */
  color: boolean;
}

/**
 * The wire keys of the secrets the jobs get, from the server's list of names and sizes: no value
 * is ever fetched, and only names go into a job spec.
 */
async function secretReferences(deps: PrunDeps, options: PrunOptions): Promise<string[]> {
  if (options.secrets === undefined && !options.useSecrets) return [];
  // Names given to --secrets are checked before anything is asked of the server.
  const candidates = options.secrets?.map(candidateKeys);
  const client = await deps.client();
  const sizes = new Map((await client.getSecretsMetadata()).map(({ key, size }) => [key, size]));
  if (options.secrets === undefined || candidates === undefined) {
    const keys = [...sizes.keys()].sort();
    if (keys.length === 0) deps.stderr.write('prun: warning: you have no secrets; the jobs get none\n');
    return checkedEnvSize(keys, sizes);
  }
  const keys = [
    ...new Set(
      options.secrets.map((name, index) => {
        const found = candidates[index]?.find((key) => sizes.has(key));
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
  return checkedEnvSize(keys, sizes);
}

/** Refuses, before submitting, jobs whose env secrets could never be passed to a payload together (the server checks too). */
function checkedEnvSize(keys: string[], sizes: ReadonlyMap<string, number>): string[] {
  assertJobEnvFits(
    keys.filter((key) => !key.startsWith(FILE_PREFIX)).map((name) => ({ name, size: sizes.get(name) ?? 0 })),
  );
  return keys;
}

/**
 * The wire keys a name given to --secrets may stand for, in order of preference: the key itself,
 * else the secret file of that name. A name valid as neither is refused.
 */
function candidateKeys(name: string): string[] {
  const valid = wireKeysOf(name).filter((key) => {
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
  return {
    jobIndex: job.jobIndex,
    id: job.id,
    state: job.state,
    outDS: job.spec.outDS,
    secrets: job.spec.secrets,
    exitCode: job.exitCode,
  };
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

function jobRows(taskId: number, jobs: JobInfo[]): string[][] {
  return jobs.map((job) => [
    String(taskId),
    String(job.jobIndex),
    job.id,
    job.state,
    job.spec.outDS,
    job.spec.secrets.join(','),
  ]);
}

/** The submission as prun prints it: rows or a table of the task's jobs, or JSON. */
async function describeSubmission(
  deps: PrunDeps,
  global: PrunGlobal,
  submitted: SubmitJobsResponseData,
  json: boolean,
): Promise<string> {
  if (json) return toJson({ taskId: submitted.taskId, jobs: submitted.jobs.map(jobJson) });
  const format = deps.isTTY.stdout ? 'table' : 'plain';
  return renderRows(
    ['Task ID', 'Job', 'Job ID', 'State', 'OutDS', 'Secrets'],
    jobRows(submitted.taskId, submitted.jobs),
    { format, color: global.color },
  );
}

/** The one line --wait writes on stderr before it waits, so the task can be found again. */
function submittedLine(submitted: SubmitJobsResponseData): string {
  const jobs = submitted.jobs.map((job) => `job ${job.jobIndex} ${job.id}`).join(', ');
  return `prun: submitted task ${submitted.taskId}: ${jobs}\n`;
}

/** What prun says when Ctrl-C stops it waiting: the task runs on, and how to follow it. */
function interruptedLine(submitted: SubmitJobsResponseData): string {
  const job = submitted.jobs.length === 1 ? '' : ' JOB';
  return (
    `prun: stopped waiting; task ${submitted.taskId} keeps running. ` +
    `Follow it with "pbook show ${submitted.taskId}" and "pbook log ${submitted.taskId}${job} --follow"\n`
  );
}

const SPINNER = ['|', '/', '-', '\\'];

/**
 * Polls the task until every job has ended, or until `interrupted` (then undefined); a progress
 * line on stderr only when it is a terminal.
 */
async function waitForJobs(
  deps: PrunDeps,
  client: PrunClient,
  taskId: number,
  interrupted: AbortSignal,
): Promise<JobInfo[] | undefined> {
  const progress = (line: string): void => {
    if (deps.isTTY.stderr) deps.stderr.write(`\r\x1b[K${line}`);
  };
  for (let tick = 0; !interrupted.aborted; tick += 1) {
    const { jobs } = await client.getTask(taskId);
    if (interrupted.aborted) break;
    const open = jobs.filter((job) => !FINAL_JOB_STATES.includes(job.state));
    if (open.length === 0) {
      progress('');
      return jobs;
    }
    progress(
      `${SPINNER[tick % SPINNER.length]} waiting for ${open.length} of ${jobs.length} job(s): ` +
        `${open.filter((job) => job.state === 'running').length} running`,
    );
    await deps.sleep(deps.pollMs, interrupted);
  }
  progress('');
  return undefined;
}

function failed(job: JobInfo): boolean {
  return job.state !== 'finished' || job.exitCode !== 0;
}

/** How a job ended, as its log header and prun's failure lines say it. */
function describeEnd(job: JobInfo): string {
  const exit = job.exitCode === null ? 'no exit code' : `exit code ${job.exitCode}`;
  return `${job.state}, ${exit}${job.reason === null ? '' : ` (${job.reason})`}`;
}

/** A job as prun's messages name it: its number in the task and its id. */
function jobName(job: JobInfo): string {
  return `job ${job.jobIndex} (${job.id})`;
}

/** prun's exit status after --wait: 0 when every job finished with 0, else the first failure's code. */
function waitExitCode(jobs: JobInfo[]): number {
  const first = jobs.find(failed);
  if (first === undefined) return 0;
  return first.exitCode !== null && first.exitCode !== 0 ? first.exitCode : 1;
}

async function printLogs(
  deps: PrunDeps,
  client: PrunClient,
  taskId: number,
  jobs: JobInfo[],
  json: boolean,
): Promise<void> {
  const logs = await Promise.all(jobs.map((job) => client.getJobLog(job.id)));
  if (json) {
    deps.stdout.write(
      toJson({ taskId, jobs: jobs.map((job, index) => ({ ...jobJson(job), log: logs[index]?.log ?? '' })) }),
    );
    return;
  }
  jobs.forEach((job, index) => {
    if (jobs.length > 1) deps.stdout.write(`== ${jobName(job)}: ${describeEnd(job)}\n`);
    deps.stdout.write(logs[index]?.log ?? '');
  });
}

/**
 * Submits `nJobs` jobs running `exec` as one task, with references to the chosen secrets; prints
 * the task's id and its jobs' (on stderr with --wait, before waiting), and with --wait follows them
 * and prints their masked logs. Returns prun's exit status; 130 when Ctrl-C stops the waiting, which
 * leaves the task running.
 *
 * @example
 * const status = await runPrun(deps, { connection: {}, color: true }, { exec: 'python3 job.py',
 *   outDS: 'user.me.test', nJobs: 1, useSecrets: true, noSubmit: false, wait: true, json: false });
 */
export async function runPrun(deps: PrunDeps, global: PrunGlobal, options: PrunOptions): Promise<number> {
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
  const client = await deps.client();
  const submitted = await client.submitJobs(specs);
  if (!options.wait) {
    deps.stdout.write(await describeSubmission(deps, global, submitted, options.json));
    return 0;
  }
  // Ctrl-C stops the waiting from the moment the task is named, before which it ends prun.
  const interrupted = new AbortController();
  const stopListening = deps.onInterrupt(() => interrupted.abort());
  let ended: JobInfo[] | undefined;
  try {
    // Before waiting, which may take long or be interrupted: the ids to find the task again.
    deps.stderr.write(submittedLine(submitted));
    ended = await waitForJobs(deps, client, submitted.taskId, interrupted.signal);
  } finally {
    stopListening();
  }
  if (ended === undefined) {
    deps.stderr.write(interruptedLine(submitted));
    return ExitCode.INTERRUPTED;
  }
  await printLogs(deps, client, submitted.taskId, ended, options.json);
  // On stderr, after the logs: a failed job's own log may well not say that it failed.
  for (const job of ended.filter(failed)) deps.stderr.write(`prun: ${jobName(job)} ${describeEnd(job)}\n`);
  return waitExitCode(ended);
}
