import { ApiPath, PandaError, validateSecret } from '@panda-secrets/protocol';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { typeErrorMessage } from '../python-types.js';
import { auditEntry, readSecrets, sealAtRest, secretNotFound, wireValue } from '../secret-values.js';
import { holdUntilDone, readMemoryEstimate } from '../load.js';
import { ok, userOnly } from './reply.js';

interface SetBody {
  key?: unknown;
  value?: unknown;
}

function requireStringOrNull(field: 'key' | 'value', value: unknown): string | null {
  if (value === null || typeof value === 'string') return value;
  throw new PandaError('INVALID_TYPE', typeErrorMessage(field, 'str', value));
}

/** Reads `keys` from the query: absent, one value, or repeated (`?keys=a&keys=b`). */
function queryKeys(query: unknown): string[] | undefined {
  const keys = (query as { keys?: unknown } | undefined)?.keys;
  if (keys === undefined) return undefined;
  const list = Array.isArray(keys) ? keys : [keys];
  if (!list.every((key): key is string => typeof key === 'string')) {
    throw new PandaError('INVALID_TYPE', typeErrorMessage('keys', 'list[str]', keys));
  }
  return list;
}

/** The two PanDA-compatible secrets calls. */
export function secretsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post(ApiPath.setUserSecrets, { preHandler: userOnly }, async (request) => {
    const body = request.body as SetBody | undefined;
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !('key' in body)) {
      throw new PandaError(
        'INVALID_INPUT',
        'the body must be a JSON object {"key": ..., "value": ...}: key and value strings set a secret, value null deletes key, key null deletes all your secrets',
      );
    }
    const key = requireStringOrNull('key', body.key);
    const value = requireStringOrNull('value', body.value ?? null);
    const owner = request.identity.owner;
    const remote = request.ip;

    if (key === null) {
      if (value !== null) {
        throw new PandaError(
          'INVALID_INPUT',
          "'key' is null but 'value' is not: give a key to set, or null for both to delete all your secrets",
        );
      }
      await ctx.store.deleteAllSecrets(owner, auditEntry(owner, 'delete_all', null, remote));
      return ok(null);
    }
    if (value === null) {
      const deleted = await ctx.store.deleteSecret(owner, key, auditEntry(owner, 'delete', key, remote));
      if (deleted === null) throw secretNotFound(key);
      return ok(null);
    }
    const { plaintext, size } = validateSecret(key, value);
    const { ciphertext, keyId } = await sealAtRest(ctx, owner, key, plaintext);
    await ctx.store.putSecret(
      { owner, key, ciphertext, keyId, size },
      ctx.quota,
      auditEntry(owner, 'set', key, remote),
    );
    return ok(null);
  });

  app.get(ApiPath.getUserSecrets, { preHandler: userOnly }, async (request) => {
    // The heavy call: each user may have only a few at once, and all together hold bounded bytes.
    holdUntilDone(request, ctx.load.enterRead(request.identity.owner));
    const secrets = await readSecrets(ctx, request.identity.owner, queryKeys(request.query), async (stored) => {
      const plaintextBytes = stored.reduce((sum, secret) => sum + secret.size, 0);
      holdUntilDone(request, await ctx.load.reserveBytes(readMemoryEstimate(plaintextBytes)));
    });
    // fromEntries defines own properties, so a secret named __proto__ is data, not a prototype.
    const dict = Object.fromEntries([...secrets].map(([key, plaintext]) => [key, wireValue(key, plaintext)]));
    // PanDA's client json.loads the data: it is a JSON string, not an object.
    return ok(JSON.stringify(dict));
  });
}
