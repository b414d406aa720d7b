import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { PandaError, VO_NAME_PATTERN, type AuthConfig } from '@panda-secrets/protocol';
import { AuthConfigParamsSchema } from '@panda-secrets/protocol/schemas';
import type { FastifyInstance } from 'fastify';
import { refuseInvalidInput } from '../request-checks.js';

/** What the server publishes for signing in: PanDA's auth config, for some VOs or for any. */
export interface PublishedAuthConfig {
  config: AuthConfig;
  /** The VOs it is published for; empty: for every VO name. */
  vos: readonly string[];
}

const FILE_SUFFIX = '_auth_config.json';

/**
 * `GET /auth/{VO}_auth_config.json`, PanDA's path, answered with the bare JSON object PanDA's
 * client reads (not the `{success, message, data}` envelope of the API). It needs no token: it is
 * what a client reads in order to get one.
 */
export function authConfigRoutes(app: FastifyInstance, published: PublishedAuthConfig): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/auth/:file',
    { schema: { params: AuthConfigParamsSchema }, preHandler: refuseInvalidInput },
    async (request, reply) => {
      const { file } = request.params;
      const vo = file.endsWith(FILE_SUFFIX) ? file.slice(0, -FILE_SUFFIX.length) : '';
      const known = published.vos.length === 0 ? VO_NAME_PATTERN.test(vo) : published.vos.includes(vo);
      if (!known) {
        const served =
          published.vos.length === 0 ? 'any VO name of letters, digits, ".", "_" or "-"' : published.vos.join(', ');
        throw new PandaError(
          'NOT_FOUND',
          `no auth config for ${JSON.stringify(vo)}: this server publishes one for ${served}`,
        );
      }
      void reply.header('cache-control', 'no-cache');
      return published.config;
    },
  );
}
