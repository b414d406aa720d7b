import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiPath } from '@panda-secrets/protocol';
import { createFixture, type Fixture } from './testing/fixture.js';

let fx: Fixture;
let alice: string;
let pilot: string;

beforeAll(async () => {
  fx = await createFixture();
  alice = await fx.token('alice');
  pilot = await fx.token('pilot-1', 'pilot');
});
afterAll(() => fx.close());

const SET_RULE =
  'the body must be a JSON object {"key": ..., "value": ...}: key and value strings set a secret, value null deletes key, key null deletes all your secrets';
const JOBS_RULE = 'the body must be {"jobs": [...]} with 1 to 1000 job specs';
const PUBLIC_KEY_RULE = "'publicKey' must be the pilot's one-time public key as a JWK object";
const update = { jobId: 'j', claimId: 'c', state: 'running' };

describe("each call's schema", () => {
  it.each<[string, 'user' | 'pilot', string, unknown, number, string, string]>([
    ['set_user_secrets, an array', 'user', ApiPath.setUserSecrets, [1], 400, 'INVALID_INPUT', SET_RULE],
    ['set_user_secrets, no key', 'user', ApiPath.setUserSecrets, { value: 'v' }, 400, 'INVALID_INPUT', SET_RULE],
    [
      'set_user_secrets, a list as value',
      'user',
      ApiPath.setUserSecrets,
      { key: 'K', value: ['v'] },
      400,
      'INVALID_TYPE',
      "Type error: 'value' must be of type str, got list.",
    ],
    ['submit, no body', 'user', ApiPath.submitJobs, null, 400, 'INVALID_INPUT', JOBS_RULE],
    ['submit, no jobs', 'user', ApiPath.submitJobs, { jobs: [] }, 400, 'INVALID_INPUT', JOBS_RULE],
    [
      'submit, a job that is a string',
      'user',
      ApiPath.submitJobs,
      { jobs: [{ exec: 'true', outDS: 'ds' }, 'true'] },
      400,
      'INVALID_TYPE',
      "Type error: 'jobs[1]' must be of type dict, got str.",
    ],
    [
      'submit, a blank command',
      'user',
      ApiPath.submitJobs,
      { jobs: [{ exec: '  ', outDS: 'ds' }] },
      400,
      'INVALID_INPUT',
      'jobs[0].exec must be a non-empty command of at most 65536 characters',
    ],
    [
      'submit, a secret named by a number',
      'user',
      ApiPath.submitJobs,
      { jobs: [{ exec: 'true', outDS: 'ds', secrets: [1] }] },
      400,
      'INVALID_TYPE',
      "Type error: 'jobs[0].secrets' must be of type list[str], got list.",
    ],
    [
      'import, no list',
      'user',
      ApiPath.importSecrets,
      { secrets: 'K=V' },
      400,
      'INVALID_INPUT',
      'the body must be a JSON object {"secrets": [{"key": K, "value": V}, ...]}',
    ],
    [
      'import, entries that are no objects',
      'user',
      ApiPath.importSecrets,
      { secrets: [5, { key: 'K' }] },
      400,
      'INVALID_INPUT',
      `entry 1: Type error: 'key' must be of type str, got NoneType. (and 1 more: "K": Type error: 'value' must be of type str, got NoneType.); nothing was changed`,
    ],
    ['acquire, no body', 'pilot', ApiPath.acquireJobs, null, 400, 'INVALID_INPUT', PUBLIC_KEY_RULE],
    [
      'acquire, nJobs 0',
      'pilot',
      ApiPath.acquireJobs,
      { publicKey: {}, nJobs: 0 },
      400,
      'INVALID_INPUT',
      "'nJobs' must be an integer from 1 to 10",
    ],
    [
      'heartbeat, a body that is a list',
      'pilot',
      ApiPath.heartbeat,
      ['j', 'c'],
      400,
      'INVALID_TYPE',
      "Type error: 'jobId' must be of type str, got NoneType.",
    ],
    [
      'heartbeat, a numeric claim',
      'pilot',
      ApiPath.heartbeat,
      { jobId: 'j', claimId: 7 },
      400,
      'INVALID_TYPE',
      "Type error: 'claimId' must be of type str, got int.",
    ],
    [
      'update_job, an unknown state',
      'pilot',
      ApiPath.updateJob,
      { ...update, state: 'done' },
      400,
      'INVALID_INPUT',
      "'state' must be one of running, finished, failed, released",
    ],
    [
      'update_job, an exit code in words',
      'pilot',
      ApiPath.updateJob,
      { ...update, exitCode: 'one' },
      400,
      'INVALID_TYPE',
      "Type error: 'exitCode' must be of type int, got str.",
    ],
    [
      'update_job, a log that is no text',
      'pilot',
      ApiPath.updateJob,
      { ...update, log: ['line'] },
      400,
      'INVALID_TYPE',
      "Type error: 'log' must be of type str, got list.",
    ],
  ])('refuses %s in its own words', async (_what, role, url, payload, status, code, message) => {
    const response = await fx.call(role === 'user' ? alice : pilot, 'POST', url, payload);
    expect([response.statusCode, response.json()]).toEqual([status, { success: false, message, data: null, code }]);
  });

  it('takes one key or several in the query of get_user_secrets', async () => {
    await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: 'A', value: 'a' });
    await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: 'B', value: 'b' });
    const one = await fx.call(alice, 'GET', `${ApiPath.getUserSecrets}?keys=A`);
    const two = await fx.call(alice, 'GET', `${ApiPath.getUserSecrets}?keys=A&keys=B&keys=C`);
    expect([JSON.parse(one.json().data), JSON.parse(two.json().data)]).toEqual([{ A: 'a' }, { A: 'a', B: 'b' }]);
  });
});

describe('the order of refusals', () => {
  it("refuses a caller of another role's call as such, whatever its body", async () => {
    const wrongRole = [
      await fx.call(pilot, 'POST', ApiPath.setUserSecrets, { key: 5 }),
      await fx.call(pilot, 'POST', ApiPath.submitJobs, { jobs: 'none' }),
      await fx.call(alice, 'POST', ApiPath.acquireJobs, { publicKey: 'none' }),
      await fx.call(alice, 'POST', ApiPath.updateJob, {}),
    ];
    expect(wrongRole.map((response) => [response.statusCode, response.json().code])).toEqual(
      Array(4).fill([403, 'FORBIDDEN']),
    );
  });

  it("refuses a caller of another role's call as such when its body is no JSON, no UTF-8, or its URL holds a NUL", async () => {
    const wrongRole = [
      await fx.call(pilot, 'POST', ApiPath.setUserSecrets, '{"key": "K", "value": '),
      await fx.call(pilot, 'POST', ApiPath.setUserSecrets, Buffer.from([0x7b, 0xff, 0x7d])),
      await fx.call(pilot, 'GET', `${ApiPath.getUserSecrets}?keys=A%00B`),
      await fx.call(pilot, 'GET', `${ApiPath.jobs}/j%00b`),
      await fx.call(alice, 'POST', ApiPath.acquireJobs, '[not json'),
    ];
    expect(wrongRole.map((response) => [response.statusCode, response.json().code])).toEqual(
      Array(5).fill([403, 'FORBIDDEN']),
    );
    // The right caller is told what was wrong with its input.
    const own = [
      await fx.call(alice, 'POST', ApiPath.setUserSecrets, '{"key": "K", "value": '),
      await fx.call(alice, 'POST', ApiPath.setUserSecrets, Buffer.from([0x7b, 0xff, 0x7d])),
      await fx.call(alice, 'GET', `${ApiPath.getUserSecrets}?keys=A%00B`),
    ];
    expect(own.map((response) => [response.statusCode, response.json().message])).toEqual([
      [400, 'the request body is not valid JSON'],
      [400, 'the request body is not valid UTF-8: send JSON text encoded as UTF-8 (a file goes base64-encoded)'],
      [400, expect.stringMatching(/^the URL's query parameter "keys" holds a NUL character/)],
    ]);
  });

  it('refuses a user over the rate as such, whatever the body', async () => {
    const limited = await createFixture({ load: { requestsPerMinute: 1 } });
    try {
      const bob = await limited.token('bob');
      const send = (body: unknown) => limited.call(bob, 'POST', ApiPath.setUserSecrets, body);
      expect((await send({ key: 5 })).statusCode).toBe(400);
      const over = await send({ key: 5 });
      expect([over.statusCode, over.json().code]).toEqual([429, 'RATE_LIMITED']);
      const unreadable = await send('{not json');
      expect([unreadable.statusCode, unreadable.json().code]).toEqual([429, 'RATE_LIMITED']);
    } finally {
      await limited.close();
    }
  });
});
