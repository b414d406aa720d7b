import { ApiPath, PandaError, validateSecret } from '@panda-secrets/protocol';
import type { ImportSecretsResponseData, SecretMetadata } from '@panda-secrets/protocol';
import type { SecretWrite } from '@panda-secrets/store';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { typeErrorMessage } from '../python-types.js';
import { auditEntry, sealAtRest } from '../secret-values.js';
import { BODY_LIMIT } from '../load.js';
import { ok, userOnly } from './reply.js';

/**
 * The entries of an import body, each checked: an object `{secrets: [{key, value}]}` of distinct
 * string keys and string values. Every bad entry is named (by its key or position, never its
 * value) in one error, so a file is fixed in one go.
 */
function importEntries(body: unknown): Array<{ key: string; value: string }> {
  const secrets = (body as { secrets?: unknown } | null)?.secrets;
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(secrets)) {
    throw new PandaError('INVALID_INPUT', 'the body must be a JSON object {"secrets": [{"key": K, "value": V}, ...]}');
  }
  if (secrets.length === 0) throw new PandaError('INVALID_INPUT', 'the import holds no secrets: nothing was changed');
  const problems: string[] = [];
  const seen = new Set<string>();
  const entries: Array<{ key: string; value: string }> = [];
  secrets.forEach((entry: unknown, index) => {
    const { key, value } = (entry ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string') {
      problems.push(`entry ${index + 1}: ${typeErrorMessage('key', 'str', key)}`);
      return;
    }
    if (typeof value !== 'string') {
      problems.push(`${JSON.stringify(key)}: ${typeErrorMessage('value', 'str', value)}`);
      return;
    }
    if (seen.has(key)) problems.push(`${JSON.stringify(key)} appears more than once`);
    seen.add(key);
    try {
      validateSecret(key, value);
    } catch (error) {
      problems.push((error as Error).message);
    }
    entries.push({ key, value });
  });
  if (problems.length > 0) {
    const [first] = problems;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join('; ')})` : '';
    throw new PandaError('INVALID_INPUT', `${first}${more}; nothing was changed`);
  }
  return entries;
}

/** Our own calls beside PanDA's two: secrets' metadata, and an import that is all or nothing. */
export function secretsBulkRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(ApiPath.secretsMetadata, { preHandler: userOnly }, async (request) => {
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
  app.post(ApiPath.importSecrets, { preHandler: userOnly, bodyLimit: importBodyLimit }, async (request) => {
    const entries = importEntries(request.body);
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
      entries.map(async ({ key, value }) => {
        const { plaintext, size } = validateSecret(key, value);
        const { ciphertext, keyId } = await sealAtRest(ctx, owner, key, plaintext);
        return { key, ciphertext, keyId, size };
      }),
    );
    await ctx.store.putSecrets(owner, writes, ctx.quota, auditEntry(owner, 'set', null, request.ip));
    const data: ImportSecretsResponseData = { created: entries.length - existing.size, replaced: existing.size };
    return ok(data);
  });
}
