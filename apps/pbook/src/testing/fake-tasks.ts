import { FINAL_JOB_STATES, JOB_STATES, PandaError } from '@panda-secrets/protocol';
import type {
  JobDetail,
  JobState,
  KillTaskResponseData,
  RetryTaskResponseData,
  TaskDetail,
  TaskInfo,
  TaskJobLogResponseData,
  TaskStatus,
} from '@panda-secrets/protocol';
import { ExpectedCalls, verifyFakesAfterEachTest } from '@panda-secrets/testkit/unit';
import type { TasksClient } from '../deps.js';

/** A job of the fake server: its state, its log, and the log pieces that later reads reveal one by one. */
export interface FakeJob {
  state: JobState;
  exitCode?: number | null;
  log?: string;
  /** For --follow: each read of the log appends the next piece; the last one ends the job. */
  pending?: Array<{ log: string; state: JobState }>;
  attempts?: JobDetail['attempts'];
}

// Every test file that uses these fakes has them verified after each test.
verifyFakesAfterEachTest();

const CREATED = '2026-11-27T14:50:01.123Z';

function statusOf(jobs: JobDetail[]): TaskStatus {
  if (jobs.some((job) => job.state === 'queued' || job.state === 'running')) {
    return jobs.some((job) => job.state !== 'queued') ? 'running' : 'queued';
  }
  if (jobs.every((job) => job.state === 'finished')) return 'finished';
  return jobs.some((job) => job.state === 'failed') ? 'failed' : 'cancelled';
}

interface FakeTask {
  exec: string;
  jobs: JobDetail[];
  logs: Map<number, string>;
  pending: Map<number, FakeJob['pending']>;
}

const notFound = (taskId: number): PandaError => new PandaError('NOT_FOUND', `no task ${taskId}`);

/**
 * The task calls of an in-memory panda-server, for unit tests of pbook's bookkeeping: its rules
 * follow the server's (kill of an ended task and retry with nothing to retry are CONFLICT).
 */
export class FakeTasks implements TasksClient {
  readonly tasks = new Map<number, FakeTask>();
  readonly taskCalls: string[] = [];
  readonly #expected = new ExpectedCalls('the fake server', () => this.madeCalls());

  /**
   * Calls the test expects, as the fake records them (e.g. "kill 1", "set K"): any of them not
   * made by the end of the test fails it.
   */
  expectCalls(...calls: string[]): this {
    this.#expected.expect(...calls);
    return this;
  }

  /** Throws when a call given to expectCalls was not made; also run after each test. */
  verify(): void {
    this.#expected.verify();
  }

  /** Every call made, as recorded. */
  protected madeCalls(): string[] {
    return this.taskCalls;
  }

  /** Adds a task of these jobs; returns its ID (1, 2, ...). */
  addTask(exec: string, jobs: FakeJob[]): number {
    const taskId = this.tasks.size + 1;
    const pending = new Map<number, FakeJob['pending']>();
    const details = jobs.map((job, index): JobDetail => {
      pending.set(index + 1, [...(job.pending ?? [])]);
      return {
        id: `id-${taskId}-${index + 1}`,
        owner: 'alice',
        taskId,
        jobIndex: index + 1,
        spec: { exec, outDS: 'user.alice.test', secrets: [] },
        state: job.state,
        exitCode: job.exitCode ?? null,
        attemptNr: job.attempts?.length ?? 0,
        maxAttempts: 3,
        reason: null,
        createdAt: CREATED,
        updatedAt: CREATED,
        attempts: job.attempts ?? [],
      };
    });
    const logs = new Map(jobs.map((job, index) => [index + 1, job.log ?? '']));
    this.tasks.set(taskId, { exec, jobs: details, logs, pending });
    return taskId;
  }

  #task(taskId: number): FakeTask {
    const task = this.tasks.get(taskId);
    if (task === undefined) throw notFound(taskId);
    return task;
  }

  #info(taskId: number): TaskInfo {
    const { exec, jobs } = this.#task(taskId);
    const jobsByState = Object.fromEntries(
      JOB_STATES.map((state) => [state, jobs.filter((job) => job.state === state).length]),
    ) as Record<JobState, number>;
    return {
      taskId,
      owner: 'alice',
      status: statusOf(jobs),
      exec,
      outDS: 'user.alice.test',
      nJobs: jobs.length,
      jobsByState,
      createdAt: CREATED,
      updatedAt: CREATED,
    };
  }

  async listTasks(): Promise<TaskInfo[]> {
    this.taskCalls.push('list');
    return [...this.tasks.keys()].reverse().map((taskId) => this.#info(taskId));
  }

  async getTask(taskId: number): Promise<TaskDetail> {
    this.taskCalls.push(`get ${taskId}`);
    const { jobs } = this.#task(taskId);
    return { task: this.#info(taskId), jobs: jobs.map((job) => ({ ...job, attempts: [...job.attempts] })) };
  }

  async killTask(taskId: number): Promise<KillTaskResponseData> {
    this.taskCalls.push(`kill ${taskId}`);
    const open = this.#task(taskId).jobs.filter((job) => !FINAL_JOB_STATES.includes(job.state));
    if (open.length === 0) throw new PandaError('CONFLICT', `task ${taskId} has ended: nothing to kill`);
    for (const job of open) job.state = 'cancelled';
    return { task: this.#info(taskId), cancelled: open.length };
  }

  async retryTask(taskId: number): Promise<RetryTaskResponseData> {
    this.taskCalls.push(`retry ${taskId}`);
    const ended = this.#task(taskId).jobs.filter((job) => job.state === 'failed' || job.state === 'cancelled');
    if (ended.length === 0) throw new PandaError('CONFLICT', `task ${taskId} has no failed or cancelled job to retry`);
    for (const job of ended) job.state = 'queued';
    return { task: this.#info(taskId), retried: ended.length };
  }

  async getTaskJobLog(taskId: number, jobIndex: number, offset = 0): Promise<TaskJobLogResponseData> {
    this.taskCalls.push(`log ${taskId} ${jobIndex} ${offset}`);
    const task = this.#task(taskId);
    const job = task.jobs.find((candidate) => candidate.jobIndex === jobIndex);
    if (job === undefined) throw new PandaError('NOT_FOUND', `task ${taskId} has no job ${jobIndex}`);
    const bytes = Buffer.from(task.logs.get(jobIndex) ?? '');
    const next = task.pending.get(jobIndex)?.shift();
    // What this read returns was there before the state it reports.
    const log = bytes.subarray(offset).toString('utf8');
    const state = job.state;
    if (next !== undefined) {
      task.logs.set(jobIndex, `${task.logs.get(jobIndex) ?? ''}${next.log}`);
      job.state = next.state;
    }
    return { taskId, jobIndex, id: job.id, state, log, nextOffset: bytes.length };
  }
}
