import { FINAL_JOB_STATES, JOB_STATES, PandaError } from '@panda-secrets/protocol';
import type { AttemptInfo, JobDetail, JobState, TaskDetail } from '@panda-secrets/protocol';
import type { Deps, GlobalOptions, TasksClient } from './deps.js';

/** Time between two reads of a followed log. */
const FOLLOW_POLL_MS = 1000;

/**
 * A task ID or a job's number in its task, as typed: a whole number from 1 on (the shell's int, or a word of digits).
 * Anything else is malformed input (exit 5), refused before anything is sent.
 */
function parseId(what: 'task ID' | 'job number', value: unknown): number {
  const text =
    typeof value === 'bigint'
      ? value.toString()
      : typeof value === 'number' || typeof value === 'string'
        ? String(value)
        : undefined;
  const id = text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) {
    const shown =
      text === undefined ? 'that value' : JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
    throw new PandaError(
      'INVALID_INPUT',
      `invalid ${what} ${shown}: a ${what} is a whole number from 1 on, such as ${what === 'task ID' ? 42 : 1}`,
    );
  }
  return id;
}

/** `2 running, 1 finished`: the states that have jobs, in their life's order. */
function jobsSummary(jobsByState: Record<JobState, number>): string {
  const parts = JOB_STATES.filter((state) => (jobsByState[state] ?? 0) > 0).map(
    (state) => `${jobsByState[state]} ${state}`,
  );
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** A server time as people read it: `2026-11-27 14:50:01` (UTC, as the server keeps it). */
function shortTime(iso: string | null): string {
  return iso === null ? '' : iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

/** `1 released (pilot-a), 2 finished 0 (pilot-b)`: a job's attempts in one cell. */
function attemptsSummary(attempts: AttemptInfo[]): string {
  return attempts
    .map(
      (attempt) =>
        `${attempt.attemptNr} ${attempt.outcome}${attempt.exitCode === null ? '' : ` ${attempt.exitCode}`} (${attempt.pilot})`,
    )
    .join(', ');
}

function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * The bookkeeping of pbook's three forms, after PanDA's show, kill, retry and a job's log: the
 * user's tasks, read and changed through the server, which answers NOT_FOUND for another user's
 * task as for one that does not exist. Listings go to stdout, messages to stderr.
 */
export class TaskActions {
  readonly #deps: Deps;
  /** Whether tables are coloured (cli-kit's one rule for every program). */
  readonly #color: boolean;

  constructor(deps: Deps, options: GlobalOptions) {
    this.#deps = deps;
    this.#color = options.color;
  }

  #format(json: boolean): 'json' | 'table' | 'plain' {
    return json ? 'json' : this.#deps.isTTY.stdout ? 'table' : 'plain';
  }

  async #render(head: string[], rows: string[][], json: boolean, overflow: 'wrap' | 'cut'): Promise<string> {
    const { renderRows } = await import('@panda-secrets/table');
    // 0: the terminal does not say how wide it is.
    const width = this.#deps.terminalWidth() || undefined;
    return renderRows(head, rows, {
      format: this.#format(json),
      color: this.#color,
      width,
      overflow,
    });
  }

  /**
   * Lists the user's tasks, newest first (one line each, the command cut to the terminal's width),
   * or with a task ID shows that task with its jobs and their attempts. JSON as the server says it.
   */
  async show(taskId?: unknown, json = false): Promise<void> {
    const client = await this.#deps.client();
    if (taskId === undefined || taskId === null) {
      const tasks = await client.listTasks();
      if (json) {
        this.#deps.stdout.write(toJson(tasks));
        return;
      }
      const rows = tasks.map((task) => [
        String(task.taskId),
        task.status,
        jobsSummary(task.jobsByState),
        shortTime(task.createdAt),
        task.exec,
      ]);
      this.#deps.stdout.write(await this.#render(['Task ID', 'Status', 'Jobs', 'Created', 'Exec'], rows, false, 'cut'));
      return;
    }
    const detail = await client.getTask(parseId('task ID', taskId));
    this.#deps.stdout.write(json ? toJson(detail) : await this.#describeTask(detail));
  }

  async #describeTask({ task, jobs }: TaskDetail): Promise<string> {
    const lines = [
      ['Task ID', String(task.taskId)],
      ['Status', task.status],
      ['Jobs', `${task.nJobs}: ${jobsSummary(task.jobsByState)}`],
      ['Created', shortTime(task.createdAt)],
      ['Updated', shortTime(task.updatedAt)],
      ['OutDS', task.outDS],
      ['Exec', task.exec],
    ].map(([name, value]) => `${`${name}:`.padEnd(9)}${(value ?? '').replace(/\n/g, '\\n')}\n`);
    const rows = jobs.map((job: JobDetail) => [
      String(job.jobIndex),
      job.id,
      job.state,
      job.exitCode === null ? '' : String(job.exitCode),
      job.reason ?? '',
      attemptsSummary(job.attempts),
    ]);
    return `${lines.join('')}\n${await this.#render(['Job', 'Job ID', 'State', 'Exit code', 'Reason', 'Attempts'], rows, false, 'wrap')}`;
  }

  /** Cancels the task: queued jobs never run, running ones are stopped by their pilot. */
  async kill(taskId: unknown): Promise<void> {
    const id = parseId('task ID', taskId);
    const { cancelled } = await (await this.#deps.client()).killTask(id);
    this.#deps.stderr.write(
      `killed task ${id}: ${cancelled} job(s) cancelled (running ones are stopped by their pilot within seconds)\n`,
    );
  }

  /** Queues the task's failed and cancelled jobs again, as new attempts. */
  async retry(taskId: unknown): Promise<void> {
    const id = parseId('task ID', taskId);
    const { retried } = await (await this.#deps.client()).retryTask(id);
    this.#deps.stderr.write(`retried task ${id}: ${retried} job(s) queued again\n`);
  }

  /**
   * Prints a job's masked log; without a job number the task's only job's, or every job's under a
   * header. With `follow`, prints what the job adds while it runs, until it has ended.
   */
  async log(taskId: unknown, job?: unknown, follow = false): Promise<void> {
    const id = parseId('task ID', taskId);
    const client = await this.#deps.client();
    if (job !== undefined && job !== null) {
      await this.#printLog(client, id, parseId('job number', job), follow);
      return;
    }
    const { jobs } = await client.getTask(id);
    if (jobs.length === 1 && jobs[0] !== undefined) {
      await this.#printLog(client, id, jobs[0].jobIndex, follow);
      return;
    }
    if (follow) {
      throw new PandaError(
        'USAGE',
        `task ${id} has ${jobs.length} jobs: name the one to follow, e.g. "pbook log ${id} 1 --follow"`,
      );
    }
    for (const each of jobs) {
      this.#deps.stdout.write(`== job ${each.jobIndex} (${each.id}): ${each.state}\n`);
      await this.#printLog(client, id, each.jobIndex, false);
    }
  }

  async #printLog(client: TasksClient, taskId: number, jobIndex: number, follow: boolean): Promise<void> {
    let offset = 0;
    for (;;) {
      const chunk = await client.getTaskJobLog(taskId, jobIndex, offset);
      this.#deps.stdout.write(chunk.log);
      // The server reads the state before the log: a final state means this read held the whole rest.
      if (!follow || FINAL_JOB_STATES.includes(chunk.state)) return;
      offset = chunk.nextOffset;
      await this.#deps.sleep(FOLLOW_POLL_MS);
    }
  }
}
