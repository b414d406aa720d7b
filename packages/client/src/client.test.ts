import { afterEach, describe, expect, it } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import type { ErrorCode } from '@panda-secrets/protocol';
import { freePort, pandaErrorOf } from '@panda-secrets/testkit/unit';
import { PandaClient } from './index.js';
import type { ClientOptions } from './index.js';
import { answer, startFakeServer } from './testing/fake-server.js';
import type { FakeHandler, FakeServer } from './testing/fake-server.js';

const OK = { success: true, message: 'OK', data: null };
const AT = '2026-01-01T00:00:00.000Z';
const JOB = {
  id: 'j 1',
  owner: 'alice',
  taskId: 7,
  jobIndex: 1,
  spec: { exec: 'true', outDS: 'user.x', secrets: [] },
  state: 'queued',
  exitCode: null,
  attemptNr: 0,
  maxAttempts: 3,
  reason: null,
  createdAt: AT,
  updatedAt: AT,
};
const TASK = {
  taskId: 7,
  owner: 'alice',
  status: 'running',
  exec: 'true',
  outDS: 'user.x',
  nJobs: 2,
  jobsByState: { queued: 1, running: 1, finished: 0, failed: 0, cancelled: 0 },
  createdAt: AT,
  updatedAt: AT,
};

let server: FakeServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(handler: FakeHandler, options: Partial<ClientOptions> = {}) {
  server = await startFakeServer(handler);
  const client = new PandaClient({ server: server.url, token: 'tok-123', retryDelayMs: 1, ...options });
  return { client, requests: server.requests };
}

describe('PandaClient requests', () => {
  it('sets a secret with a JSON body and the headers PanDA sends', async () => {
    const { client, requests } = await serve((_request, response) => answer(response, 200, OK), { vo: 'atlas' });
    await client.setSecret('MY_SECRET', 'random_string');
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/api/v1/creds/set_user_secrets');
    expect(JSON.parse(request?.body ?? '')).toEqual({ key: 'MY_SECRET', value: 'random_string' });
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer tok-123',
      accept: 'application/json',
      'accept-encoding': 'gzip',
      origin: 'atlas',
      'content-type': 'application/json',
    });
  });

  it('sends no Origin without a VO and no Authorization without a token', async () => {
    const { requests } = await serve((_request, response) => answer(response, 200, OK));
    const client = new PandaClient({ server: server?.url ?? '' });
    await client.deleteAllSecrets();
    expect(requests[0]?.headers.origin).toBeUndefined();
    expect(requests[0]?.headers.authorization).toBeUndefined();
  });

  it('deletes one key with a null value and all keys with a null key', async () => {
    const { client, requests } = await serve((_request, response) => answer(response, 200, OK));
    await client.deleteSecret('MY_SECRET');
    await client.deleteAllSecrets();
    expect(requests.map((request) => JSON.parse(request.body))).toEqual([
      { key: 'MY_SECRET', value: null },
      { key: null, value: null },
    ]);
  });

  it('keeps a path prefix of the server URL', async () => {
    const { requests } = await serve((_request, response) => answer(response, 200, OK));
    await new PandaClient({ server: `${server?.url}/panda/` }).deleteAllSecrets();
    expect(requests[0]?.url).toBe('/panda/api/v1/creds/set_user_secrets');
  });

  it('reads secrets from the JSON string in data, asking for the given keys', async () => {
    const secrets = { A: 'x', '___file___:f.dat': 'AAE=' };
    const { client, requests } = await serve((_request, response) =>
      answer(response, 200, { success: true, message: 'OK', data: JSON.stringify(secrets) }),
    );
    await expect(client.getSecrets()).resolves.toEqual(secrets);
    await expect(client.getSecrets(['A', '___file___:f.dat'])).resolves.toEqual(secrets);
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /api/v1/creds/get_user_secrets',
      'GET /api/v1/creds/get_user_secrets?keys=A&keys=___file___%3Af.dat',
    ]);
  });

  it('asks nothing for an empty key list', async () => {
    const { client, requests } = await serve((_request, response) => answer(response, 500, {}));
    await expect(client.getSecrets([])).resolves.toEqual({});
    expect(requests).toHaveLength(0);
  });

  it('decompresses a gzip answer', async () => {
    const value = 'v'.repeat(10_000);
    const { client } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync(JSON.stringify({ success: true, message: 'OK', data: JSON.stringify({ K: value }) })));
    });
    await expect(client.getSecrets()).resolves.toEqual({ K: value });
  });

  it.each([
    ['not a string', { K: 'v' }],
    ['not JSON', '{K'],
    ['an array', '["v"]'],
    ['a non-string value', '{"K": 1}'],
    ['null', null],
  ])('rejects secrets data that is %s', async (_what, data) => {
    const { client } = await serve((_request, response) =>
      answer(response, 200, { success: true, message: 'OK', data }),
    );
    const error = await pandaErrorOf(client.getSecrets());
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.message).toMatch(/^panda-server answered with malformed data: /);
  });

  it('keeps no secret of secrets data that is not JSON, not even in its causes (shown with --verbose)', async () => {
    const { client } = await serve((_request, response) =>
      answer(response, 200, { success: true, message: 'OK', data: '{"K":SECRET-VALUE}' }),
    );
    const error = await pandaErrorOf(client.getSecrets());
    expect([error.code, error.message]).toEqual([
      'SERVER_ERROR',
      'panda-server answered with malformed data: the secrets are not valid JSON',
    ]);
    expect(error.cause).toBeUndefined();
  });

  it('calls the job and pilot endpoints', async () => {
    const job = JOB;
    const log = { id: 'j 1', state: 'queued', log: '' };
    const acquired = { job, claimId: 'c', bundle: null, leaseExpiresAt: '2026-01-01T00:05:00.000Z', leaseSeconds: 300 };
    const { client, requests } = await serve((request, response) =>
      answer(response, 200, {
        success: true,
        message: 'OK',
        data: request.url.endsWith('/log')
          ? log
          : request.url.startsWith('/api/v1/jobs/j')
            ? job
            : request.url.includes('acquire_jobs')
              ? { jobs: [acquired] }
              : request.url.includes('update_job')
                ? { id: 'j', state: 'cancelled' }
                : { taskId: 7, jobs: [job] },
      }),
    );
    const spec = { exec: 'true', outDS: 'user.x', secrets: [] };
    await expect(client.submitJobs([spec])).resolves.toEqual({ taskId: 7, jobs: [job] });
    await expect(client.getJob('j 1')).resolves.toEqual(job);
    await expect(client.getJobLog('j 1')).resolves.toEqual(log);
    await expect(client.acquireJobs({ kty: 'EC' }, 2)).resolves.toEqual([acquired]);
    await expect(client.updateJob({ jobId: 'j', claimId: 'c', state: 'running' })).resolves.toEqual({
      id: 'j',
      state: 'cancelled',
    });
    expect(requests.map((request) => [request.method, request.url, request.body])).toEqual([
      ['POST', '/api/v1/jobs/submit', JSON.stringify({ jobs: [spec] })],
      ['GET', '/api/v1/jobs/j%201', ''],
      ['GET', '/api/v1/jobs/j%201/log', ''],
      ['POST', '/api/v1/pilot/acquire_jobs', JSON.stringify({ publicKey: { kty: 'EC' }, nJobs: 2 })],
      ['POST', '/api/v1/pilot/update_job', JSON.stringify({ jobId: 'j', claimId: 'c', state: 'running' })],
    ]);
  });

  it('calls the task endpoints and the heartbeat', async () => {
    const task = TASK;
    const answers: Record<string, unknown> = {
      'GET /api/v1/tasks': { tasks: [task] },
      'GET /api/v1/tasks/7': { task, jobs: [] },
      'POST /api/v1/tasks/7/kill': { task, cancelled: 2 },
      'POST /api/v1/tasks/7/retry': { task, retried: 1 },
      'GET /api/v1/tasks/7/jobs/2/log?offset=5': {
        taskId: 7,
        jobIndex: 2,
        id: 'j',
        state: 'running',
        log: 'x',
        nextOffset: 6,
      },
      'POST /api/v1/pilot/heartbeat': { leaseExpiresAt: '2026-01-01T00:00:00.000Z', cancel: true },
    };
    const { client, requests } = await serve((request, response) =>
      answer(response, 200, { success: true, message: 'OK', data: answers[`${request.method} ${request.url}`] }),
    );
    await expect(client.listTasks()).resolves.toEqual([task]);
    await expect(client.getTask(7)).resolves.toEqual({ task, jobs: [] });
    await expect(client.killTask(7)).resolves.toEqual({ task, cancelled: 2 });
    await expect(client.retryTask(7)).resolves.toEqual({ task, retried: 1 });
    await expect(client.getTaskJobLog(7, 2, 5)).resolves.toMatchObject({ log: 'x', nextOffset: 6 });
    await expect(client.heartbeat({ jobId: 'j', claimId: 'c' })).resolves.toEqual({
      leaseExpiresAt: '2026-01-01T00:00:00.000Z',
      cancel: true,
    });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual(Object.keys(answers));
    expect(requests.at(-1)?.body).toBe(JSON.stringify({ jobId: 'j', claimId: 'c' }));
  });

  it.each<[string, (client: PandaClient) => Promise<unknown>, unknown, string]>([
    [
      'a task list with an unknown status',
      (client) => client.listTasks(),
      { tasks: [{ ...TASK, status: 'paused' }] },
      "no task list ('data.tasks[0].status' must be one of queued, running, finished, failed, cancelled)",
    ],
    [
      'a job without its owner',
      (client) => client.getJob('j'),
      { ...JOB, owner: undefined },
      "no job (Type error: 'data.owner' must be of type str, got NoneType.)",
    ],
    [
      'an acquired job whose bundle is a number',
      (client) => client.acquireJobs({ kty: 'EC' }),
      { jobs: [{ job: JOB, claimId: 'c', bundle: 7, leaseExpiresAt: AT, leaseSeconds: 300 }] },
      "no job list (Type error: 'data.jobs[0].bundle' must be of type str, got int.)",
    ],
    [
      'metadata with a size in words',
      (client) => client.getSecretsMetadata(),
      [{ key: 'K', size: 'six', updatedAt: AT }],
      "the metadata is not a list of {key, size, updatedAt} (Type error: 'data[0].size' must be of type int, got str.)",
    ],
    [
      'a lease without its cancel flag',
      (client) => client.heartbeat({ jobId: 'j', claimId: 'c' }),
      { leaseExpiresAt: AT },
      "no lease (Type error: 'data.cancel' must be of type bool, got NoneType.)",
    ],
    [
      'an update answered without the job state',
      (client) => client.updateJob({ jobId: 'j', claimId: 'c', state: 'running' }),
      { id: 'j' },
      "no job state ('data.state' must be one of queued, running, finished, failed, cancelled)",
    ],
  ])('refuses %s, naming the field', async (_what, call, data, problem) => {
    const { client } = await serve((_request, response) =>
      answer(response, 200, { success: true, message: 'OK', data }),
    );
    const error = await pandaErrorOf(call(client));
    expect([error.code, error.message]).toEqual([
      'SERVER_ERROR',
      `panda-server answered with malformed data: ${problem}`,
    ]);
  });

  it('asks its token source for the token before each request', async () => {
    let n = 0;
    const { client, requests } = await serve(
      (_request, response) => answer(response, 200, { success: true, message: 'OK', data: { tasks: [] } }),
      {
        tokenSource: async () => `token-${++n}`,
      },
    );
    await client.listTasks();
    await client.listTasks();
    expect(requests.map((request) => request.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });
});

describe('PandaClient errors', () => {
  it.each<[number, Record<string, unknown>, ErrorCode, string]>([
    [
      400,
      { code: 'INVALID_NAME', message: 'invalid secret name "1ABC": ...' },
      'INVALID_NAME',
      'invalid secret name "1ABC": ...',
    ],
    [413, { code: 'TOO_LARGE', message: 'the limit is 1024000 bytes' }, 'TOO_LARGE', 'the limit is 1024000 bytes'],
    [
      400,
      { code: 'INVALID_TYPE', message: "Type error: 'value' must be of type str, got int." },
      'INVALID_TYPE',
      "Type error: 'value' must be of type str, got int.",
    ],
    [413, { code: 'QUOTA_EXCEEDED', message: 'at most 500 secrets' }, 'QUOTA_EXCEEDED', 'at most 500 secrets'],
    [400, { message: 'bad request' }, 'INVALID_INPUT', 'bad request'],
    [413, { message: 'too big' }, 'TOO_LARGE', 'too big'],
    [401, { message: 'no token' }, 'AUTH_REQUIRED', 'no token'],
    [403, { message: 'token expired' }, 'AUTH_REFUSED', 'token expired'],
    [403, { code: 'FORBIDDEN', message: 'pilots only' }, 'FORBIDDEN', 'pilots only'],
    [404, { code: 'NOT_FOUND', message: 'no secret "K"' }, 'NOT_FOUND', 'no secret "K"'],
    [404, { message: '' }, 'NOT_FOUND', 'panda-server answered HTTP 404'],
    [500, { code: 'DECRYPT_FAILED', message: 'cannot decrypt "K"' }, 'DECRYPT_FAILED', 'cannot decrypt "K"'],
    [500, { message: 'boom' }, 'SERVER_ERROR', 'boom'],
    [503, { code: 'UNAVAILABLE', message: 'the store is down' }, 'UNAVAILABLE', 'the store is down'],
    [429, { code: 'RATE_LIMITED', message: 'try again in 7 s' }, 'RATE_LIMITED', 'try again in 7 s'],
    [429, { message: 'slow down' }, 'RATE_LIMITED', 'slow down'],
    [400, { code: 'NO_SUCH_CODE', message: 'odd' }, 'INVALID_INPUT', 'odd'],
    [400, { code: 'toString', message: 'odd' }, 'INVALID_INPUT', 'odd'],
    [200, { message: 'refused' }, 'SERVER_ERROR', 'refused'],
  ])('maps HTTP %i %j to %s', async (status, fields, code, message) => {
    const { client } = await serve((_request, response) =>
      answer(response, status, { success: false, data: null, ...fields }),
    );
    const error = await pandaErrorOf(client.setSecret('K', 'value'));
    expect(error.name).toBe('PandaError');
    expect([error.code, error.message]).toEqual([code, message]);
  });

  it('never follows a redirect, so a value is sent nowhere else', async () => {
    const elsewhere = await startFakeServer((_request, response) => answer(response, 200, OK));
    try {
      const { client } = await serve((_request, response) => {
        response.writeHead(307, { location: `${elsewhere.url}/api/v1/creds/set_user_secrets` });
        response.end();
      });
      const error = await pandaErrorOf(client.setSecret('REDIR', 'redirected-value-555'));
      expect(error.code).toBe('SERVER_ERROR');
      expect(error.message).toContain('307');
      expect(error.message).not.toContain('redirected-value-555');
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('reports an answer that is not panda-server JSON by its status', async () => {
    const { client } = await serve((_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html>Bad Gateway</html>');
    });
    const error = await pandaErrorOf(client.deleteAllSecrets());
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.message).toBe(
      `the answer from ${server?.url} (HTTP 502) is not a panda-server response; check that the server address points to panda-server`,
    );
  });

  it('gives SERVER_UNREACHABLE for a port nothing listens on, naming the server and what to check', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const client = new PandaClient({ server: url, retryDelayMs: 1 });
    const error = await pandaErrorOf(client.setSecret('K', 'secret-value'));
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.message).toBe(
      `cannot reach panda-server at ${url} (connection refused); check that the address is right, ` +
        'that panda-server is running there and that the network allows the connection',
    );
    expect(error.message).not.toContain('secret-value');
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect((await pandaErrorOf(client.getSecrets())).code).toBe('SERVER_UNREACHABLE');
  });

  it('gives SERVER_UNREACHABLE when the server does not answer in time', async () => {
    const { client } = await serve(() => undefined, { timeoutMs: 100, retries: 0 });
    const error = await pandaErrorOf(client.getSecrets());
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.message).toContain('(timed out)');
  });
});

describe('PandaClient retries', () => {
  const dropConnection: FakeHandler = (_request, response) => response.socket?.destroy();
  const unavailable: FakeHandler = (_request, response) =>
    answer(response, 503, { success: false, message: 'the store is down', data: null, code: 'UNAVAILABLE' });

  it.each([
    ['a 503', unavailable, 'UNAVAILABLE'],
    ['a connection reset', dropConnection, 'SERVER_UNREACHABLE'],
  ])('never repeats a POST after %s', async (_what, handler, code) => {
    const { client, requests } = await serve(handler);
    expect((await pandaErrorOf(client.setSecret('K', 'value'))).code).toBe(code);
    expect(requests).toHaveLength(1);
  });

  it.each([
    ['a 503', unavailable],
    ['a connection reset', dropConnection],
  ])('repeats a GET after %s and returns the later answer', async (_what, failFirst) => {
    const { client, requests } = await serve((request, response, index) =>
      index === 0
        ? failFirst(request, response, index)
        : answer(response, 200, { success: true, message: 'OK', data: '{"K":"v"}' }),
    );
    await expect(client.getSecrets()).resolves.toEqual({ K: 'v' });
    expect(requests).toHaveLength(2);
  });

  it('gives up on a GET after the configured number of retries', async () => {
    const { client, requests } = await serve(unavailable, { retries: 2 });
    expect((await pandaErrorOf(client.getSecrets())).code).toBe('UNAVAILABLE');
    expect(requests).toHaveLength(3);
  });

  it('does not repeat a GET refused with 429, whatever Retry-After says: the user gets the wait to make', async () => {
    const { client, requests } = await serve((_request, response) => {
      response.setHeader('retry-after', '1');
      answer(response, 429, {
        success: false,
        message: 'too many requests: at most 5 per minute per user; try again in 1 s',
        data: null,
        code: 'RATE_LIMITED',
      });
    });
    const error = await pandaErrorOf(client.getSecrets());
    expect([error.code, error.message]).toEqual([
      'RATE_LIMITED',
      'too many requests: at most 5 per minute per user; try again in 1 s',
    ]);
    expect(requests).toHaveLength(1);
  });

  it('does not repeat a GET that failed for good', async () => {
    const { client, requests } = await serve((_request, response) =>
      answer(response, 500, { success: false, message: 'cannot decrypt', data: null, code: 'DECRYPT_FAILED' }),
    );
    expect((await pandaErrorOf(client.getSecrets())).code).toBe('DECRYPT_FAILED');
    expect(requests).toHaveLength(1);
  });
});
