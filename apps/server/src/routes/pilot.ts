import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { importPilotPublicKey, sealBundle, type PilotPublicKey } from '@panda-secrets/crypto';
import {
  ApiPath,
  MAX_LOG_CHUNK,
  PandaError,
  isPandaError,
  parseWireKey,
  type AcquireJobsResponseData,
  type AcquiredJob,
  type HeartbeatResponseData,
  type SecretBundle,
  type UpdateJobResponseData,
} from '@panda-secrets/protocol';
import {
  AcquireJobsRequestSchema,
  HeartbeatRequestSchema,
  UpdateJobRequestSchema,
} from '@panda-secrets/protocol/schemas';
import { missingJobSecrets, type JobRow, type SecretCiphertext } from '@panda-secrets/store';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { decryptSecrets, wireValue } from '../secret-values.js';
import { jobInfo } from './jobs.js';
import { ok, pilotOnly } from './reply.js';

/** A job's whole log is kept up to this many bytes; a runaway payload cannot fill the database. */
export const MAX_JOB_LOG = 16 * MAX_LOG_CHUNK;

/** Decrypts the job's secrets, as its claim read them, and seals them as one bundle to the pilot's one-time key. */
async function sealJobSecrets(
  ctx: ServerContext,
  row: JobRow,
  stored: readonly SecretCiphertext[],
  publicKey: PilotPublicKey,
): Promise<string> {
  const secrets = await decryptSecrets(ctx.keyring, stored);
  const missing = missingJobSecrets(row, stored);
  if (missing.length > 0) {
    throw new PandaError('NOT_FOUND', `the job's secrets ${missing.join(', ')} were deleted after it was submitted`);
  }
  const env: [string, string][] = [];
  const files: [string, string][] = [];
  for (const [key, plaintext] of secrets) {
    const ref = parseWireKey(key);
    // A bundle carries values in their wire form: text for env secrets, base64 for files.
    (ref.kind === 'file' ? files : env).push([ref.name, wireValue(key, plaintext)]);
  }
  // fromEntries defines own properties, so a secret named __proto__ is data, not a prototype.
  const bundle: SecretBundle = { jobId: row.id, env: Object.fromEntries(env), files: Object.fromEntries(files) };
  return sealBundle(publicKey, bundle);
}

/** The pilot's calls: acquire jobs with their sealed secrets, report their progress. */
export function pilotRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  // Sealed bundles are base64 of ciphertext, which gzip barely shrinks: compressing the answer cost
  // more CPU than the rest of an acquire.
  const acquireRoute = { schema: { body: AcquireJobsRequestSchema }, preHandler: pilotOnly, compress: false as const };
  api.post(ApiPath.acquireJobs, acquireRoute, async (request) => {
    const { publicKey, nJobs = 1 } = request.body;
    // A key that cannot be sealed to is refused before any job is claimed, so no job is lost; it
    // is imported once and serves every job of this acquire.
    const pilotKey = await importPilotPublicKey(publicKey);

    const pilot = request.identity.subject;
    const acquired: AcquiredJob[] = [];
    // The claim reads each job's secrets and records their hand-out to this pilot in one transaction.
    const claimed = await ctx.store.claimJobsWithSecrets(pilot, nJobs, ctx.jobs.leaseMs, request.ip);
    for (const { job: row, secrets } of claimed) {
      const claimId = row.claimId ?? '';
      try {
        const bundle = row.spec.secrets.length > 0 ? await sealJobSecrets(ctx, row, secrets, pilotKey) : null;
        acquired.push({
          job: jobInfo(row),
          claimId,
          bundle,
          leaseExpiresAt: (row.leaseExpiresAt ?? new Date()).toISOString(),
          leaseSeconds: ctx.jobs.leaseMs / 1000,
        });
      } catch (error) {
        if (!isPandaError(error) || error.code === 'UNAVAILABLE') throw error;
        // The job cannot get its secrets: it fails here with the reason, and the pilot never sees it.
        request.log.warn({ jobId: row.id, code: error.code }, 'job failed before dispatch');
        const reason = `the job could not be given its secrets: ${error.message}`;
        await ctx.store.updateJob(row.id, pilot, claimId, {
          state: 'failed',
          exitCode: null,
          reason,
          appendLog: `panda-server: ${reason}\n`,
        });
      }
    }
    const data: AcquireJobsResponseData = { jobs: acquired };
    return ok(data);
  });

  api.post(ApiPath.heartbeat, { schema: { body: HeartbeatRequestSchema }, preHandler: pilotOnly }, async (request) => {
    const { jobId, claimId } = request.body;
    const renewal = await ctx.store.renewLease(jobId, request.identity.subject, claimId, ctx.jobs.leaseMs);
    const data: HeartbeatResponseData = {
      leaseExpiresAt: renewal.leaseExpiresAt.toISOString(),
      cancel: renewal.cancel,
    };
    return ok(data);
  });

  api.post(ApiPath.updateJob, { schema: { body: UpdateJobRequestSchema }, preHandler: pilotOnly }, async (request) => {
    const { jobId, claimId, state, exitCode = null, log } = request.body;
    const row = await ctx.store.updateJob(jobId, request.identity.subject, claimId, {
      state,
      exitCode,
      ...(log === undefined
        ? {}
        : { appendLog: log, maxLogBytes: MAX_JOB_LOG, ownerLogBudget: ctx.jobs.logBudgetBytes }),
    });
    // A cancelled job answers `cancelled` to every update: its pilot stops it at its next log upload.
    const data: UpdateJobResponseData = { id: row.id, state: row.state };
    return ok(data);
  });
}
