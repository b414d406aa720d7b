import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiPath, PandaError, validateSecret } from '@panda-secrets/protocol';
import { GetUserSecretsQuerySchema, SetUserSecretsRequestSchema } from '@panda-secrets/protocol/schemas';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { auditEntry, decryptSecrets, sealAtRest, secretNotFound, wireValue } from '../secret-values.js';
import { holdUntilDone, readMemoryEstimate } from '../load.js';
import { ok, userOnly } from './reply.js';

const setRoute = { schema: { body: SetUserSecretsRequestSchema }, preHandler: userOnly };
/** `?keys=a&keys=b` (or one `?keys=a`) asks for those keys only. */
const getRoute = { schema: { querystring: GetUserSecretsQuerySchema }, preHandler: userOnly };

/** The two PanDA-compatible secrets calls. */
export function secretsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(ApiPath.setUserSecrets, setRoute, async (request) => {
    const { key, value = null } = request.body;
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

  api.get(ApiPath.getUserSecrets, getRoute, async (request) => {
    // The heavy call: each user may have only a few at once, and all together hold bounded bytes.
    holdUntilDone(request, ctx.load.enterRead(request.identity.owner));
    const stored = await ctx.store.getCiphertexts(request.identity.owner, request.query.keys);
    // The rows' sizes tell how much memory their plaintexts take: wait for room before decrypting them.
    const plaintextBytes = stored.reduce((sum, secret) => sum + secret.size, 0);
    holdUntilDone(request, await ctx.load.reserveBytes(readMemoryEstimate(plaintextBytes)));
    const secrets = await decryptSecrets(ctx.keyring, stored);
    // fromEntries defines own properties, so a secret named __proto__ is data, not a prototype.
    const dict = Object.fromEntries([...secrets].map(([key, plaintext]) => [key, wireValue(key, plaintext)]));
    // PanDA's client json.loads the data: it is a JSON string, not an object.
    return ok(JSON.stringify(dict));
  });
}
