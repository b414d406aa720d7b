import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ApiPath,
  PandaError,
  assertNoNul,
  assertDatasetName,
  assertJobEnvFits,
  parseWireKey,
  type AttemptInfo,
  type JobInfo,
  type JobLogResponseData,
  type JobSpec,
  type SubmitJobsRequest,
  type KillTaskResponseData,
  type ListTasksResponseData,
  type RetryTaskResponseData,
  type SubmitJobsResponseData,
  type TaskDetail,
  type TaskInfo,
  type TaskJobLogResponseData,
} from '@panda-secrets/protocol';
import {
  JobParamsSchema,
  SubmitJobsRequestSchema,
  TaskJobLogParamsSchema,
  TaskJobLogQuerySchema,
  TaskParamsSchema,
} from '@panda-secrets/protocol/schemas';
import { taskNotFound, type AttemptRow, type JobRow, type TaskRow } from '@panda-secrets/store';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { ok, userOnly } from './reply.js';

/** What the owner sees of a job; the spec holds secret names only, never values. */
export function jobInfo(row: JobRow): JobInfo {
  return {
    id: row.id,
    owner: row.owner,
    taskId: row.taskId,
    jobIndex: row.jobIndex,
    spec: row.spec,
    state: row.state,
    exitCode: row.exitCode,
    attemptNr: row.attemptNr,
    maxAttempts: row.maxAttempts,
    reason: row.reason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A task row holds exactly what its owner sees, with times as Dates. */
function taskInfo(row: TaskRow): TaskInfo {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

function attemptInfo(row: AttemptRow): AttemptInfo {
  return {
    attemptNr: row.attemptNr,
    pilot: row.pilot,
    startedAt: row.startedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    outcome: row.outcome,
    exitCode: row.exitCode,
  };
}

/** The largest task id, job index or log offset a path or query may carry. */
const ID_PATTERN = /^(0|[1-9][0-9]{0,14})$/;

/** A whole number from a path or query parameter: INVALID_INPUT (400) unless it is one, in range. */
function wholeNumber(what: string, raw: unknown, min: number): number {
  const text = typeof raw === 'string' ? raw : '';
  const value = ID_PATTERN.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    const shown = JSON.stringify(text.slice(0, 40));
    throw new PandaError('INVALID_INPUT', `${shown} is no ${what}: it must be a whole number of at least ${min}`);
  }
  return value;
}

function taskIdParam(params: { taskId: string }): number {
  return wholeNumber('task ID', params.taskId, 1);
}

/** A submitted job, its shape checked by the route's schema, checked for what a schema does not say. */
function parseSpec(spec: SubmitJobsRequest['jobs'][number], index: number): JobSpec {
  const { exec, outDS, secrets = [] } = spec;
  assertNoNul(`jobs[${index}].exec`, exec);
  assertDatasetName(outDS);
  for (const key of secrets) parseWireKey(key);
  return { exec, outDS, secrets: [...new Set(secrets)] };
}

/** The names and stored sizes of the env secrets among `keys` (files do not enter the environment). */
function envSecretSizes(
  keys: readonly string[],
  sizes: ReadonlyMap<string, number>,
): Array<{ name: string; size: number }> {
  return keys.filter((key) => parseWireKey(key).kind === 'env').map((name) => ({ name, size: sizes.get(name) ?? 0 }));
}

/** The job, if the caller owns it; another owner's job is reported as absent, not forbidden. */
async function ownJob(ctx: ServerContext, owner: string, id: string): Promise<JobRow> {
  const row = await ctx.store.getJob(id);
  if (row === null || row.owner !== owner) {
    throw new PandaError('NOT_FOUND', `no job ${JSON.stringify(id)} of yours`);
  }
  return row;
}

/** Submitting jobs and following them: the user's job calls. */
export function jobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(ApiPath.submitJobs, { schema: { body: SubmitJobsRequestSchema }, preHandler: userOnly }, async (request) => {
    const specs = request.body.jobs.map(parseSpec);
    const owner = request.identity.owner;
    const referenced = [...new Set(specs.flatMap((spec) => spec.secrets))];
    if (referenced.length > 0) {
      const sizes = new Map((await ctx.store.getSecrets(owner, referenced)).map((secret) => [secret.key, secret.size]));
      const missing = referenced.filter((key) => !sizes.has(key));
      if (missing.length > 0) {
        throw new PandaError('NOT_FOUND', `the job refers to secrets you do not have: ${missing.join(', ')}`);
      }
      for (const spec of specs) assertJobEnvFits(envSecretSizes(spec.secrets, sizes));
    }
    // The store counts the owner's unfinished jobs and inserts these in one serialised step.
    const task = await ctx.store.createTask(owner, specs, {
      maxUnfinishedJobs: ctx.maxUnfinishedJobs,
      maxAttempts: ctx.jobs.maxAttempts,
    });
    const data: SubmitJobsResponseData = { taskId: task.taskId, jobs: task.jobs.map(jobInfo) };
    return ok(data);
  });

  const jobRoute = { schema: { params: JobParamsSchema }, preHandler: userOnly };
  api.get(`${ApiPath.jobs}/:id`, jobRoute, async (request) =>
    ok(jobInfo(await ownJob(ctx, request.identity.owner, request.params.id))),
  );

  api.get(`${ApiPath.jobs}/:id/log`, jobRoute, async (request) => {
    const row = await ownJob(ctx, request.identity.owner, request.params.id);
    const { log } = await ctx.store.readJobLog(row.id, 0);
    const data: JobLogResponseData = { id: row.id, state: row.state, log };
    return ok(data);
  });

  api.get(ApiPath.tasks, { preHandler: userOnly }, async (request) => {
    const data: ListTasksResponseData = { tasks: (await ctx.store.listTasks(request.identity.owner)).map(taskInfo) };
    return ok(data);
  });

  const taskRoute = { schema: { params: TaskParamsSchema }, preHandler: userOnly };
  api.get(`${ApiPath.tasks}/:taskId`, taskRoute, async (request) => {
    const taskId = taskIdParam(request.params);
    const detail = await ctx.store.getTask(request.identity.owner, taskId);
    if (detail === null) throw taskNotFound(taskId);
    const data: TaskDetail = {
      task: taskInfo(detail.task),
      jobs: detail.jobs.map((job) => ({ ...jobInfo(job), attempts: job.attempts.map(attemptInfo) })),
    };
    return ok(data);
  });

  api.post(`${ApiPath.tasks}/:taskId/kill`, taskRoute, async (request) => {
    const owner = request.identity.owner;
    const { task, cancelled } = await ctx.store.killTask(owner, taskIdParam(request.params), `killed by ${owner}`);
    const data: KillTaskResponseData = { task: taskInfo(task), cancelled };
    return ok(data);
  });

  api.post(`${ApiPath.tasks}/:taskId/retry`, taskRoute, async (request) => {
    const { task, retried } = await ctx.store.retryTask(
      request.identity.owner,
      taskIdParam(request.params),
      ctx.jobs.maxAttempts,
    );
    const data: RetryTaskResponseData = { task: taskInfo(task), retried };
    return ok(data);
  });

  const taskJobLogRoute = {
    schema: { params: TaskJobLogParamsSchema, querystring: TaskJobLogQuerySchema },
    preHandler: userOnly,
  };
  api.get(`${ApiPath.tasks}/:taskId/jobs/:jobIndex/log`, taskJobLogRoute, async (request) => {
    const taskId = taskIdParam(request.params);
    const jobIndex = wholeNumber('job number', request.params.jobIndex, 1);
    const { offset: rawOffset } = request.query;
    const offset = rawOffset === undefined ? 0 : wholeNumber('log offset', rawOffset, 0);
    const job = await ctx.store.getTaskJob(request.identity.owner, taskId, jobIndex);
    if (job === null) {
      // An absent task and another owner's read the same; a task of yours names its range.
      if ((await ctx.store.getTask(request.identity.owner, taskId)) === null) throw taskNotFound(taskId);
      throw new PandaError('NOT_FOUND', `task ${taskId} has no job ${jobIndex}`);
    }
    const slice = await ctx.store.readJobLog(job.id, offset);
    const data: TaskJobLogResponseData = { taskId, jobIndex, id: job.id, state: job.state, ...slice };
    return ok(data);
  });
}
