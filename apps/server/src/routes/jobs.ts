import {
  ApiPath,
  MAX_JOBS_PER_SUBMIT,
  PandaError,
  assertNoNul,
  assertDatasetName,
  assertJobEnvFits,
  parseWireKey,
  type JobInfo,
  type JobLogResponseData,
  type JobSpec,
  type SubmitJobsResponseData,
} from '@panda-secrets/protocol';
import type { JobRow } from '@panda-secrets/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { typeErrorMessage } from '../python-types.js';
import { ok, userOnly } from './reply.js';

export const MAX_EXEC_LENGTH = 65_536;

/** What the owner sees of a job; the spec holds secret names only, never values. */
export function jobInfo(row: JobRow): JobInfo {
  return {
    id: row.id,
    owner: row.owner,
    spec: row.spec,
    state: row.state,
    exitCode: row.exitCode,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function parseSpec(raw: unknown, index: number): JobSpec {
  const where = `jobs[${index}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PandaError('INVALID_TYPE', typeErrorMessage(where, 'dict', raw));
  }
  const { exec, outDS, secrets = [] } = raw as Record<string, unknown>;
  if (typeof exec !== 'string') throw new PandaError('INVALID_TYPE', typeErrorMessage(`${where}.exec`, 'str', exec));
  if (exec.trim() === '' || exec.length > MAX_EXEC_LENGTH) {
    throw new PandaError('INVALID_INPUT', `${where}.exec must be a non-empty command of at most ${MAX_EXEC_LENGTH} characters`);
  }
  assertNoNul(`${where}.exec`, exec);
  if (typeof outDS !== 'string') throw new PandaError('INVALID_TYPE', typeErrorMessage(`${where}.outDS`, 'str', outDS));
  assertDatasetName(outDS);
  if (!Array.isArray(secrets) || !secrets.every((key): key is string => typeof key === 'string')) {
    throw new PandaError('INVALID_TYPE', typeErrorMessage(`${where}.secrets`, 'list[str]', secrets));
  }
  for (const key of secrets) parseWireKey(key);
  return { exec, outDS, secrets: [...new Set(secrets)] };
}

/** The names and stored sizes of the env secrets among `keys` (files do not enter the environment). */
function envSecretSizes(keys: readonly string[], sizes: ReadonlyMap<string, number>): Array<{ name: string; size: number }> {
  return keys.filter((key) => parseWireKey(key).kind === 'env').map((name) => ({ name, size: sizes.get(name) ?? 0 }));
}

/** The job, if the caller owns it; another owner's job is reported as absent, not forbidden. */
async function ownJob(ctx: ServerContext, request: FastifyRequest): Promise<JobRow> {
  const { id } = request.params as { id: string };
  const row = await ctx.store.getJob(id);
  if (row === null || row.owner !== request.identity.owner) {
    throw new PandaError('NOT_FOUND', `no job ${JSON.stringify(id)} of yours`);
  }
  return row;
}

/** Submitting jobs and following them: the user's job calls. */
export function jobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post(ApiPath.submitJobs, { preHandler: userOnly }, async (request) => {
    const jobs = (request.body as { jobs?: unknown } | undefined)?.jobs;
    if (!Array.isArray(jobs) || jobs.length === 0 || jobs.length > MAX_JOBS_PER_SUBMIT) {
      throw new PandaError('INVALID_INPUT', `the body must be {"jobs": [...]} with 1 to ${MAX_JOBS_PER_SUBMIT} job specs`);
    }
    const specs = jobs.map(parseSpec);
    const owner = request.identity.owner;
    const unfinished = await ctx.store.countUnfinishedJobs(owner);
    if (unfinished + specs.length > ctx.maxUnfinishedJobs) {
      throw new PandaError(
        'QUOTA_EXCEEDED',
        `you have ${unfinished} unfinished jobs and submitted ${specs.length}; the limit is ${ctx.maxUnfinishedJobs} queued or running jobs per user: nothing was submitted`,
      );
    }
    const referenced = [...new Set(specs.flatMap((spec) => spec.secrets))];
    if (referenced.length > 0) {
      const sizes = new Map((await ctx.store.getSecrets(owner, referenced)).map((secret) => [secret.key, secret.size]));
      const missing = referenced.filter((key) => !sizes.has(key));
      if (missing.length > 0) {
        throw new PandaError('NOT_FOUND', `the job refers to secrets you do not have: ${missing.join(', ')}`);
      }
      for (const spec of specs) assertJobEnvFits(envSecretSizes(spec.secrets, sizes));
    }
    const rows = await ctx.store.createJobs(owner, specs);
    const data: SubmitJobsResponseData = { jobs: rows.map(jobInfo) };
    return ok(data);
  });

  app.get(`${ApiPath.jobs}/:id`, { preHandler: userOnly }, async (request) => ok(jobInfo(await ownJob(ctx, request))));

  app.get(`${ApiPath.jobs}/:id/log`, { preHandler: userOnly }, async (request) => {
    const row = await ownJob(ctx, request);
    const data: JobLogResponseData = { id: row.id, state: row.state, log: row.log };
    return ok(data);
  });
}
