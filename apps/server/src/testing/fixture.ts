import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { signToken, type IssuerKey } from '@panda-secrets/crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createServer } from '../app.js';
import {
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  loadIssuerKey,
  openServerContext,
  type OpenedServer,
  type ServerSettings,
} from '../setup.js';

/** A server app on a real SQLite file in a fresh data dir, with its log captured in memory. */
export interface Fixture {
  app: FastifyInstance;
  opened: OpenedServer;
  settings: ServerSettings;
  issuerKey: IssuerKey;
  dataDir: string;
  log: () => string;
  token(user: string, role?: 'pilot', options?: { ttlSeconds?: number; now?: Date }): Promise<string>;
  /**
   * Calls the app with `token` as its bearer token. A body is sent as JSON: a string or bytes as
   * they are (to send what is not JSON or not UTF-8), any other value as its JSON text.
   */
  call(token: string, method: 'GET' | 'POST', url: string, body?: unknown): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function createFixture(overrides: Partial<ServerSettings> = {}): Promise<Fixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'panda-server-test-'));
  const settings: ServerSettings = {
    dataDir,
    quota: { maxSecrets: 500, maxTotalBytes: 50 * 1024 * 1024 },
    maxUnfinishedJobs: 10_000,
    // Tests of other things make many calls as one user in well under a minute.
    load: { requestsPerMinute: 1_000_000 },
    ...overrides,
  };
  const opened = await openServerContext(settings);
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const app = await createServer(opened.context, { logger: { level: 'debug', stream } });
  const issuerKey = await loadIssuerKey(settings);
  return {
    app,
    opened,
    settings,
    issuerKey,
    dataDir,
    log: () => chunks.join(''),
    token: (user, role, options = {}) =>
      signToken(
        issuerKey,
        { sub: user, preferred_username: user, name: user, groups: [], ...(role ? { role } : {}) },
        {
          issuer: LOCAL_ISSUER,
          audience: LOCAL_AUDIENCE,
          ttlSeconds: options.ttlSeconds ?? 3600,
          ...(options.now ? { now: options.now } : {}),
        },
      ),
    call: (token, method, url, body) =>
      app.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined
          ? {}
          : { payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
      }),
    async close() {
      await app.close();
      await opened.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
