import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { ApiPath, FILE_PREFIX, MAX_FILE_BYTES } from '@panda-secrets/protocol';
import { callApi, startServer, type RunningServer } from '@panda-secrets/testkit';
import type { FastifyRequest } from 'fastify';
import { AuthFailureCounter, LoadGate, RequestRateLimit, holdUntilDone, releaseHeld } from './load.js';
import { createFixture, type Fixture } from './testing/fixture.js';

describe('LoadGate', () => {
  it("caps each user's reads in progress, and counts a release once", () => {
    const gate = new LoadGate({
      requestsPerMinute: 10,
      concurrentReadsPerUser: 2,
      inflightBytes: 100,
      authFailuresPerMinute: 10,
    });
    const first = gate.enterRead('alice');
    gate.enterRead('alice');
    expect(() => gate.enterRead('alice')).toThrow(
      expect.objectContaining({
        code: 'RATE_LIMITED',
        message:
          'you have 2 reads of your secrets in progress, the most one user may have at once: try again when one has finished (in 1 s)',
      }),
    );
    expect(() => gate.enterRead('bob')).not.toThrow();
    first();
    first();
    gate.enterRead('alice');
    expect(() => gate.enterRead('alice')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
  });

  it('admits reads while their bytes fit, a small one beside a waiting large one, and a read over the limit alone', async () => {
    const gate = new LoadGate({
      requestsPerMinute: 10,
      concurrentReadsPerUser: 2,
      inflightBytes: 100,
      authFailuresPerMinute: 10,
    });
    const admitted: string[] = [];
    const reserve = (name: string, bytes: number) =>
      gate.reserveBytes(bytes).then((release) => {
        admitted.push(name);
        return release;
      });
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const a = await reserve('a', 60);
    const b = reserve('b', 50);
    const huge = reserve('huge', 500);
    const c = await reserve('c', 10); // fits now, though b waits
    await tick();
    expect([admitted, gate.inflightBytes]).toEqual([['a', 'c'], 70]);
    a();
    const releaseB = await b;
    await tick();
    expect([admitted, gate.inflightBytes]).toEqual([['a', 'c', 'b'], 60]);
    releaseB();
    c();
    c();
    (await huge)();
    expect([admitted, gate.inflightBytes]).toEqual([['a', 'c', 'b', 'huge'], 0]);
  });
});

describe('AuthFailureCounter', () => {
  it('blocks an address for the rest of its minute once it failed the limit, and counts a bounded number of addresses', () => {
    let now = 1_000_000;
    const counter = new AuthFailureCounter(2, () => now, 3);
    counter.record('10.0.0.1');
    expect(counter.check('10.0.0.1')).toBeUndefined();
    counter.record('10.0.0.1');
    now += 15_000;
    expect(counter.check('10.0.0.1')).toEqual({
      retryAfterSeconds: 45,
      error: expect.objectContaining({
        code: 'RATE_LIMITED',
        message:
          'too many requests with refused credentials from your address: at most 2 per minute; try again in 45 s',
      }),
    });
    expect(counter.check('10.0.0.2')).toBeUndefined();
    now += 45_000;
    expect(counter.check('10.0.0.1')).toBeUndefined();
    for (const address of ['a', 'b', 'c', 'd', 'e']) counter.record(address);
    expect(counter.size).toBe(3);
  });
});

describe('RequestRateLimit', () => {
  it('refuses a user past the limit until their minute is over, counting refused requests, and no one else', () => {
    let now = 2_000_000;
    const limit = new RequestRateLimit(2, () => now, 3);
    expect(limit.take('alice')).toEqual({ limit: 2, remaining: 1, resetSeconds: 60 });
    now += 10_500;
    expect(limit.take('alice')).toEqual({ limit: 2, remaining: 0, resetSeconds: 50 });
    const refused = limit.take('alice');
    expect(refused).toEqual({
      limit: 2,
      remaining: 0,
      resetSeconds: 50,
      refusal: {
        retryAfterSeconds: 50,
        error: expect.objectContaining({
          code: 'RATE_LIMITED',
          message: 'too many requests: at most 2 per minute per user; try again in 50 s',
        }),
      },
    });
    expect(limit.take('bob').refusal).toBeUndefined();
    // The last second of the window still refuses, and says to wait at least one second.
    now += 49_499;
    expect(limit.take('alice').refusal?.retryAfterSeconds).toBe(1);
    // A new minute opens with the next request after the window is over.
    now += 1;
    expect(limit.take('alice')).toEqual({ limit: 2, remaining: 1, resetSeconds: 60 });
  });

  it('keeps a bounded number of users, making room with the windows that are over, else the oldest', () => {
    let now = 0;
    const limit = new RequestRateLimit(1, () => now, 2);
    limit.take('a');
    now += 30_000;
    limit.take('b');
    now += 30_000; // a's window is over, b's is not
    limit.take('c');
    expect(limit.size).toBe(2);
    expect(limit.take('b').refusal).toBeDefined();
    limit.take('d'); // full of live windows: the oldest (b) goes
    expect(limit.size).toBe(2);
    expect(limit.take('b').refusal).toBeUndefined();
  });
});

describe('refused credentials over a real socket', () => {
  let server: RunningServer;
  afterAll(() => server?.stop());

  it('answers an address past --auth-failure-limit with 429 and Retry-After, whatever its next token, until the minute is over', async () => {
    server = await startServer({ args: ['--auth-failure-limit', '3'] });
    for (let n = 0; n < 3; n += 1) {
      const refused = await callApi(server.url, 'not-a-token', ApiPath.getUserSecrets);
      expect([refused.status, refused.json.code]).toEqual([403, 'AUTH_REFUSED']);
    }
    for (const token of ['not-a-token', await server.token('alice')]) {
      const limited = await callApi(server.url, token, ApiPath.getUserSecrets);
      expect([limited.status, limited.json.code]).toEqual([429, 'RATE_LIMITED']);
      expect(limited.json.message).toMatch(
        /^too many requests with refused credentials from your address: at most 3 per minute; try again in \d+ s$/,
      );
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    }
    // What needs no token is still served.
    expect((await fetch(`${server.url}${ApiPath.health}`)).status).toBe(200);
  }, 60_000);
});

describe('holding until a request is over', () => {
  it('releases at the end what was held, and at once what comes after a client has gone', async () => {
    const request = {} as FastifyRequest;
    const released: string[] = [];
    holdUntilDone(request, () => released.push('slot'));
    holdUntilDone(request, () => released.push('bytes'));
    expect(released).toEqual([]);
    await releaseHeld(request); // the response is out, or the client aborted
    expect(released).toEqual(['slot', 'bytes']);
    holdUntilDone(request, () => released.push('late bytes'));
    await releaseHeld(request);
    expect(released).toEqual(['slot', 'bytes', 'late bytes']);
  });
});

describe('per-user limits over HTTP', () => {
  let fx: Fixture;
  afterEach(() => fx.close());

  function get(token: string) {
    return fx.call(token, 'GET', ApiPath.getUserSecrets);
  }

  it('answers a user over --rate-limit with 429, Retry-After and RATE_LIMITED, and no one else', async () => {
    fx = await createFixture({ load: { requestsPerMinute: 3 } });
    const [alice, bob, pilot] = [await fx.token('alice'), await fx.token('bob'), await fx.token('pilot-1', 'pilot')];
    const counted = [];
    for (let n = 0; n < 3; n += 1) counted.push(await get(alice));
    expect(counted.map((response) => [response.statusCode, response.headers['x-ratelimit-remaining']])).toEqual([
      [200, '2'],
      [200, '1'],
      [200, '0'],
    ]);
    expect(counted[0]!.headers['x-ratelimit-limit']).toBe('3');
    const refused = await get(alice);
    expect(refused.statusCode).toBe(429);
    expect([refused.headers['x-ratelimit-remaining'], refused.headers['x-ratelimit-reset']]).toEqual([
      '0',
      refused.headers['retry-after'],
    ]);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.json()).toEqual({
      success: false,
      message: expect.stringMatching(/^too many requests: at most 3 per minute per user; try again in \d+ s$/),
      data: null,
      code: 'RATE_LIMITED',
    });
    expect((await get(bob)).statusCode).toBe(200);
    // Pilots (many may share one token) are not counted.
    for (let n = 0; n < 5; n += 1) {
      const polled = await fx.call(pilot, 'POST', ApiPath.acquireJobs, { publicKey: { kty: 'EC' }, nJobs: 0 });
      expect([polled.statusCode === 429, polled.headers['x-ratelimit-limit']]).toEqual([false, undefined]);
    }
  });

  it('refuses a user a read past --max-concurrent-reads (429, Retry-After: 1) while another user is served', async () => {
    fx = await createFixture({ load: { concurrentReadsPerUser: 1, inflightBytes: 1000 } });
    const [alice, bob] = [await fx.token('alice'), await fx.token('bob')];
    const set = (token: string, key: string, value: string) =>
      fx.call(token, 'POST', ApiPath.setUserSecrets, { key, value });
    expect((await set(alice, 'A', 'alice-value')).statusCode).toBe(200);
    expect((await set(bob, 'B', 'bob-value')).statusCode).toBe(200);

    // Memory is full: alice's first read holds her one slot while it waits for room.
    const full = await fx.opened.context.load.reserveBytes(999);
    const first = get(alice);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await get(alice);
    expect([second.statusCode, second.headers['retry-after'], second.json().code]).toEqual([429, '1', 'RATE_LIMITED']);
    const bobs = get(bob);
    full();
    expect([(await first).statusCode, JSON.parse((await first).json().data)]).toEqual([200, { A: 'alice-value' }]);
    expect([(await bobs).statusCode, JSON.parse((await bobs).json().data)]).toEqual([200, { B: 'bob-value' }]);
    // Every slot and byte is given back once the answers are out.
    expect(fx.opened.context.load.inflightBytes).toBe(0);
    expect((await get(alice)).statusCode).toBe(200);
  });
});

describe('one user reading the largest quota ten times at once', () => {
  let server: RunningServer;
  afterAll(() => server?.stop());

  /** The most resident memory the process has had, in bytes (Linux). */
  const peakRss = (pid: number) =>
    Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

  it("keeps the server's memory bounded and another user served promptly", async () => {
    server = await startServer();
    const [alice, bob] = [await server.token('alice'), await server.token('bob')];
    // 51 files of 1000 kB: just within the default quota of 50 MB.
    const file = Buffer.alloc(MAX_FILE_BYTES, 7).toString('base64');
    for (let n = 0; n < 51; n += 3) {
      await Promise.all(
        [n, n + 1, n + 2]
          .filter((i) => i < 51)
          .map(async (i) => {
            expect(
              (
                await callApi(server.url, alice, ApiPath.setUserSecrets, {
                  key: `${FILE_PREFIX}f${i}.bin`,
                  value: file,
                })
              ).status,
            ).toBe(200);
          }),
      );
    }
    expect(
      (await callApi(server.url, bob, ApiPath.setUserSecrets, { key: 'SMALL', value: 'small-value' })).status,
    ).toBe(200);
    const before = peakRss(server.process.pid!);

    const reads = Array.from({ length: 10 }, () => callApi(server.url, alice, ApiPath.getUserSecrets));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const small = await callApi(server.url, bob, ApiPath.getUserSecrets);
    const smallMs = Date.now() - started;
    const answers = await Promise.all(reads);

    expect([small.status, JSON.parse(small.json.data as string)]).toEqual([200, { SMALL: 'small-value' }]);
    const statuses = answers.map((answer) => answer.status).sort();
    // Two at a time per user (the default); the rest are told to come back, not queued in memory.
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(2);
    expect(statuses.filter((status) => status === 429)).toHaveLength(10 - statuses.filter((s) => s === 200).length);
    for (const answer of answers.filter((a) => a.status === 200)) {
      expect(Object.keys(JSON.parse(answer.json.data as string) as object)).toHaveLength(51);
    }
    const growth = peakRss(server.process.pid!) - before;
    process.stderr.write(`peak RSS growth ${Math.round(growth / 2 ** 20)} MiB, small read ${smallMs} ms\n`);
    expect(growth).toBeLessThan(1024 * 2 ** 20);
    // Generous for a loaded machine: before the limits it took the server to over 2 GB and others waited far longer.
    expect(smallMs).toBeLessThan(20_000);
  }, 240_000);
});
