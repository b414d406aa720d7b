import compress from '@fastify/compress';
import type { Identity } from '@panda-secrets/crypto';
import {
  ApiPath,
  PandaError,
  assertNoNul,
  httpStatusFor,
  isPandaError,
  MAX_FILE_BYTES,
  type ApiResponse,
} from '@panda-secrets/protocol';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { authenticate } from './auth.js';
import type { ServerContext } from './context.js';
import { BODY_LIMIT, BUSY_RETRY_AFTER_SECONDS, releaseHeld } from './load.js';
import { compileRequestSchema, refuseInvalidInput } from './request-checks.js';
import { authConfigRoutes } from './routes/auth-config.js';
import { jobRoutes } from './routes/jobs.js';
import { pilotRoutes } from './routes/pilot.js';
import { ok } from './routes/reply.js';
import { secretsRoutes } from './routes/panda-secrets.js';
import { secretsBulkRoutes } from './routes/secrets-bulk.js';

/** Refuses bytes that are not UTF-8 rather than replacing them with U+FFFD. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Log fields that could carry a credential or a value; pino replaces them wherever they appear. */
const REDACTED_LOG_PATHS = ['req.headers.authorization', 'req.body', 'body', 'value', 'token'];

/** The request headers worth a log line; any other header is left out, so none can leak a credential. */
const LOGGED_HEADERS = ['user-agent', 'origin', 'content-type', 'content-length', 'accept-encoding', 'x-forwarded-for'];

/** A request URL without its query string. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function loggedHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const logged: Record<string, unknown> = {};
  for (const name of LOGGED_HEADERS) if (headers[name] !== undefined) logged[name] = headers[name];
  // Its presence helps diagnose a refused request; its value is never written.
  if (headers.authorization !== undefined) logged.authorization = '[redacted]';
  return logged;
}

export interface CreateServerOptions {
  /** pino options for fastify's logger, or false for none. Redaction is always added. */
  logger?: false | Exclude<FastifyServerOptions['logger'], boolean | undefined>;
  https?: { key: string | Buffer; cert: string | Buffer };
}

function failure(message: string, code: PandaError['code']): ApiResponse<null> {
  return { success: false, message, data: null, code };
}

/** Maps fastify's own errors (body too large, bad content type) to our codes, with safe messages. */
function asPandaError(error: unknown): PandaError {
  if (isPandaError(error)) return error;
  const fastifyCode = (error as { code?: string }).code;
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new PandaError(
      'TOO_LARGE',
      `the request body is over ${BODY_LIMIT} bytes; a value or file may be at most ${MAX_FILE_BYTES} bytes`,
    );
  }
  if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return new PandaError('INVALID_INPUT', 'the request body must be JSON (Content-Type: application/json)');
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new PandaError('INVALID_INPUT', 'the request is malformed', { cause: error });
  }
  return new PandaError('SERVER_ERROR', 'internal server error', { cause: error });
}

/**
 * Builds panda-server's HTTP app without listening, so tests can call it in-process
 * (`app.inject`) or over a real socket (`app.listen`).
 *
 * @example
 * const app = await createServer(context, { logger: false });
 * await app.listen({ port: 0, host: '127.0.0.1' });
 */
export async function createServer(ctx: ServerContext, options: CreateServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    logger:
      options.logger === false
        ? false
        : {
            ...options.logger,
            // Only headers known to carry no credential are logged: proxies and clients add
            // their own token headers (proxy-authorization, x-api-key, x-forwarded-access-token...).
            serializers: {
              req: (request) => ({
                method: request.method,
                // The path only: a query string may carry a credential (?access_token=...) or a key name.
                url: pathOf(request.url),
                remoteAddress: request.ip,
                headers: loggedHeaders(request.headers),
              }),
            },
            redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
          },
    ...(options.https ? { https: options.https } : {}),
  });

  // JSON.parse's own messages quote the body (and so a value); replace them with a safe one. The
  // body is decoded strictly: a replacement character stored in place of bad bytes would change a value.
  app.removeContentTypeParser('application/json');
  app.decorateRequest('inputProblem', undefined);
  // A body that cannot be read is kept as the request's input problem, not thrown here: it is refused
  // by refuseInvalidInput, after the role guard and the rate limit (401, 403, 429, then 400).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const refuse = (problem: PandaError) => {
      request.inputProblem ??= problem;
      done(null, undefined);
    };
    let text: string;
    try {
      text = strictUtf8.decode(body as Buffer);
    } catch {
      refuse(
        new PandaError(
          'INVALID_INPUT',
          'the request body is not valid UTF-8: send JSON text encoded as UTF-8 (a file goes base64-encoded)',
        ),
      );
      return;
    }
    if (text === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      refuse(new PandaError('INVALID_INPUT', 'the request body is not valid JSON'));
    }
  });

  app.setValidatorCompiler(compileRequestSchema);

  // A NUL in a path segment or query value could reach a query (a job id, a key name): refused by
  // refuseInvalidInput.
  app.addHook('preValidation', async (request) => {
    try {
      for (const [part, fields] of [
        ['path', request.params],
        ['query', request.query],
      ] as const) {
        for (const [name, value] of Object.entries((fields ?? {}) as Record<string, unknown>)) {
          for (const text of [value].flat())
            if (typeof text === 'string') assertNoNul(`the URL's ${part} parameter "${name}"`, text);
        }
      }
    } catch (error) {
      request.inputProblem ??= error as PandaError;
    }
  });

  await app.register(compress, { global: true, encodings: ['gzip', 'deflate'], threshold: 1024 });

  app.setErrorHandler((error, request, reply) => {
    const panda = asPandaError(error);
    const status = httpStatusFor(panda.code);
    // The rate limiter has set its own; a refusal for concurrency asks for a short wait.
    if (panda.code === 'RATE_LIMITED' && !reply.hasHeader('retry-after'))
      void reply.header('retry-after', BUSY_RETRY_AFTER_SECONDS);
    if (status >= 500) {
      request.log.error({ code: panda.code, cause: (panda.cause as Error | undefined)?.message }, panda.message);
    } else {
      request.log.info({ code: panda.code }, 'request refused');
    }
    void reply.status(status).send(failure(panda.message, panda.code));
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(failure(`no such call: ${request.method} ${pathOf(request.url)}`, 'NOT_FOUND'));
  });

  app.get(ApiPath.health, async () => {
    await ctx.store.ping();
    return ok({ status: 'ok' });
  });

  if (ctx.authConfig !== undefined) authConfigRoutes(app, ctx.authConfig);

  await app.register(async (api) => {
    api.decorateRequest('identity', null as unknown as Identity);
    api.addHook('onRequest', async (request, reply) => {
      // An address past its refused credentials for the minute gets no more signatures verified.
      const blocked = ctx.load.authFailures.check(request.ip);
      if (blocked !== undefined) {
        void reply.header('retry-after', blocked.retryAfterSeconds);
        throw blocked.error;
      }
      try {
        request.identity = await authenticate(request, ctx.verifier);
      } catch (error) {
        // The caller's refused credentials, not the identity provider being away (5xx).
        if (httpStatusFor(asPandaError(error).code) < 500) ctx.load.authFailures.record(request.ip);
        throw error;
      }
    });
    api.addHook('onResponse', releaseHeld);
    api.addHook('onRequestAbort', releaseHeld);
    // Counted per authenticated caller (after the auth hook), so users behind one address do not
    // share a budget and a refused token costs nobody's.
    const countRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      // Many pilots may share one pilot token, and their calls carry the jobs' progress.
      if (request.identity.role === 'pilot') return;
      const counted = ctx.load.requests.take(request.identity.owner);
      void reply.header('x-ratelimit-limit', counted.limit);
      void reply.header('x-ratelimit-remaining', counted.remaining);
      void reply.header('x-ratelimit-reset', counted.resetSeconds);
      if (counted.refusal === undefined) return;
      void reply.header('retry-after', counted.refusal.retryAfterSeconds);
      throw counted.refusal.error;
    };
    // Each call's input is refused after its role guard and the rate limit, as the checks in the
    // handlers were.
    api.addHook('onRoute', (route) => {
      route.attachValidation = true;
      route.preHandler = [route.preHandler ?? []].flat().concat(countRequest, refuseInvalidInput);
    });
    secretsRoutes(api, ctx);
    secretsBulkRoutes(api, ctx);
    jobRoutes(api, ctx);
    pilotRoutes(api, ctx);
  });

  return app;
}
