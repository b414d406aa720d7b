import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiPath, PandaError, listProblems, quoteName, validateSecret } from '@panda-secrets/protocol';
import { ImportSecretEntrySchema, ImportSecretsEnvelopeSchema } from '@panda-secrets/protocol/schemas';
import type { ImportSecretsResponseData, SecretMetadata } from '@panda-secrets/protocol';
import type { SecretWrite } from '@panda-secrets/store';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { requestProblem } from '../request-checks.js';
import { auditEntry, sealAtRest } from '../secret-values.js';
import { BODY_LIMIT } from '../load.js';
import { ok, userOnly } from './reply.js';

/**
 * The entries of an import body, each checked: distinct string keys and string values. Every bad
 * entry is named (by its key or position, never its value) in one error (the first
 * few listed), so a file is fixed in one go.
 */
function importEntries(secrets: readonly unknown[]): Array<{ key: string; plaintext: Buffer; size: number }> {
  const problems: string[] = [];
  const seen = new Set<string>();
  const entries: Array<{ key: string; plaintext: Buffer; size: number }> = [];
  secrets.forEach((entry: unknown, index) => {
    const problem = requestProblem(ImportSecretEntrySchema, entry);
    if (problem !== undefined) {
      const key = (entry as { key?: unknown } | null)?.key;
      problems.push(`${typeof key === 'string' ? quoteName(key) : `entry ${index + 1}`}: ${problem.message}`);
      return;
    }
    const { key, value } = entry as { key: string; value: string };
    if (seen.has(key)) problems.push(`${quoteName(key)} appears more than once`);
    seen.add(key);
    try {
      const { plaintext, size } = validateSecret(key, value);
      entries.push({ key, plaintext, size });
    } catch (error) {
      problems.push((error as Error).message);
    }
  });
  if (problems.length > 0) throw new PandaError('INVALID_INPUT', `${listProblems(problems)}; nothing was changed`);
  return entries;
}

/** Our own calls beside PanDA's two: secrets' metadata, and an import that is all or nothing. */
export function secretsBulkRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(ApiPath.secretsMetadata, { preHandler: userOnly }, async (request) => {
    const stored = await ctx.store.getSecrets(request.identity.owner);
    const metadata: SecretMetadata[] = stored.map((secret) => ({
      key: secret.key,
      size: secret.size,
      updatedAt: secret.updatedAt.toISOString(),
    }));
    return ok(metadata);
  });

  // An import may carry a user's whole quota: as base64 and JSON escapes, more than its bytes.
  const importBodyLimit = Math.max(BODY_LIMIT, Math.ceil((ctx.quota.maxTotalBytes * 8) / 3));
  const importRoute = {
    schema: { body: ImportSecretsEnvelopeSchema },
    preHandler: userOnly,
    bodyLimit: importBodyLimit,
  };
  api.post(ApiPath.importSecrets, importRoute, async (request) => {
    const entries = importEntries(request.body.secrets);
    const owner = request.identity.owner;
    const existing = new Set(
      (
        await ctx.store.getSecrets(
          owner,
          entries.map((entry) => entry.key),
        )
      ).map((secret) => secret.key),
    );
    const writes: SecretWrite[] = await Promise.all(
      entries.map(async ({ key, plaintext, size }) => {
        const { ciphertext, keyId } = await sealAtRest(ctx, owner, key, plaintext);
        return { key, ciphertext, keyId, size };
      }),
    );
    await ctx.store.putSecrets(owner, writes, ctx.quota, auditEntry(owner, 'set', null, request.ip));
    const data: ImportSecretsResponseData = { created: entries.length - existing.size, replaced: existing.size };
    return ok(data);
  });
}
