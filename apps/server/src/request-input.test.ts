import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiPath } from '@panda-secrets/protocol';
import { createTestDatabase, type TestDatabase } from '@panda-secrets/testkit';
import { createFixture, type Fixture } from './testing/fixture.js';

const database = await createTestDatabase('panda_request_input');
afterAll(() => database?.drop());

function secretsOf(fx: Fixture, token: string) {
  return fx.call(token, 'GET', ApiPath.getUserSecrets);
}

describe('the server log', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await createFixture();
  });
  afterAll(() => fx.close());

  it('never holds a query string, whatever the call answers', async () => {
    const alice = await fx.token('alice');
    const calls = [
      { url: `${ApiPath.getUserSecrets}?access_token=query-cred-401`, headers: {} },
      {
        url: `${ApiPath.getUserSecrets}?access_token=query-cred-200&keys=query-key-name`,
        headers: { authorization: `Bearer ${alice}` },
      },
      { url: '/api/v1/nowhere?access_token=query-cred-404', headers: {} },
      { url: `${ApiPath.jobs}/none?token=query-cred-job`, headers: { authorization: `Bearer ${alice}` } },
    ];
    const statuses = [];
    for (const call of calls) statuses.push((await fx.app.inject({ method: 'GET', ...call })).statusCode);
    expect(statuses).toEqual([401, 200, 404, 404]);
    const log = fx.log();
    expect(log).toContain(`"url":"${ApiPath.getUserSecrets}"`);
    expect(log).toContain('"url":"/api/v1/nowhere"');
    for (const leaked of ['query-cred', 'query-key-name', 'access_token']) expect(log).not.toContain(leaked);
  });
});

/** The input checks every store must answer alike: 400 with a clear message, nothing changed. */
function describeInputChecks(name: string, db: () => string | undefined): void {
  describe(`refused request input (${name})`, () => {
    let fx: Fixture;
    let alice: string;
    beforeAll(async () => {
      const url = db();
      fx = await createFixture(url === undefined ? {} : { db: url });
      alice = await fx.token('alice');
    });
    afterAll(() => fx.close());

    it.each([
      ['a lone continuation byte', Buffer.from([0x80])],
      ['a truncated sequence', Buffer.from([0xe2, 0x82])],
      ['an invalid byte', Buffer.from([0xff])],
      ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
      ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ])('refuses a body with %s in a value instead of storing U+FFFD', async (_label, bad) => {
      const payload = Buffer.concat([Buffer.from('{"key": "BAD_UTF8", "value": "before'), bad, Buffer.from('after"}')]);
      const response = await fx.call(alice, 'POST', ApiPath.setUserSecrets, payload);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        success: false,
        message: 'the request body is not valid UTF-8: send JSON text encoded as UTF-8 (a file goes base64-encoded)',
        data: null,
        code: 'INVALID_INPUT',
      });
      expect(JSON.parse((await secretsOf(fx, alice)).json().data)).toEqual({});
    });

    it('still takes any valid UTF-8, four-byte characters included', async () => {
      const value = 'naïve ✓ 𝄞 end';
      const response = await fx.call(
        alice,
        'POST',
        ApiPath.setUserSecrets,
        Buffer.from(JSON.stringify({ key: 'GOOD_UTF8', value }), 'utf8'),
      );
      expect(response.statusCode).toBe(200);
      expect(JSON.parse((await secretsOf(fx, alice)).json().data)).toEqual({ GOOD_UTF8: value });
      await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: null, value: null });
    });

    it('refuses a NUL in a job command with 400, submitting nothing', async () => {
      const response = await fx.call(alice, 'POST', ApiPath.submitJobs, {
        jobs: [
          { exec: 'echo ok', outDS: 'user.alice.a' },
          { exec: 'echo a\u0000b', outDS: 'user.alice.b' },
        ],
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        code: 'INVALID_INPUT',
        message:
          'jobs[1].exec holds a NUL character (at position 6), which no command, name or stored text may contain',
      });
      expect(await fx.opened.context.store.countUnfinishedJobs('alice')).toBe(0);
    });

    it.each([
      [
        'preferred_username',
        { sub: 'alice', preferred_username: 'ali\u0000ce' },
        "the token's user name (preferred_username, else sub) holds a NUL character (at position 3)",
      ],
      [
        'sub',
        { sub: 'bo\u0000b' },
        "the token's user name (preferred_username, else sub) holds a NUL character (at position 2)",
      ],
      [
        'sub beside a clean user name',
        { sub: 'pi\u0000lot', preferred_username: 'pilot' },
        "the token's subject (sub) holds a NUL character (at position 2)",
      ],
    ])('refuses a token whose %s holds a NUL with 400, on every call', async (_label, claims, refusal) => {
      const { signToken } = await import('@panda-secrets/crypto');
      const { LOCAL_AUDIENCE, LOCAL_ISSUER } = await import('./setup.js');
      const token = await signToken(
        fx.issuerKey,
        { name: 'x', groups: [], ...claims },
        { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, ttlSeconds: 600 },
      );
      for (const [method, url, body] of [
        ['GET', ApiPath.getUserSecrets],
        ['POST', ApiPath.setUserSecrets, { key: 'K', value: 'value' }],
        ['POST', ApiPath.submitJobs, { jobs: [{ exec: 'true', outDS: 'user.x.y' }] }],
      ] as const) {
        const response = await fx.call(token, method, url, body);
        expect([response.statusCode, response.json().message]).toEqual([
          400,
          `${refusal}, which no command, name or stored text may contain`,
        ]);
      }
      expect((await fx.opened.context.store.listAudit()).filter((record) => record.actor.includes('\u0000'))).toEqual(
        [],
      );
    });

    it.each([
      [`${ApiPath.jobs}/a%00b`, `the URL's path parameter "id" holds a NUL character (at position 1)`],
      [`${ApiPath.jobs}/a%00b/log`, `the URL's path parameter "id" holds a NUL character (at position 1)`],
      [
        `${ApiPath.getUserSecrets}?keys=A&keys=%00`,
        `the URL's query parameter "keys" holds a NUL character (at position 0)`,
      ],
    ])('refuses a NUL in the URL of GET %s with 400', async (url, message) => {
      const response = await fx.call(alice, 'GET', url);
      expect([response.statusCode, response.json().message]).toEqual([
        400,
        `${message}, which no command, name or stored text may contain`,
      ]);
    });
  });
}

describeInputChecks('SQLite', () => undefined);
(database === null ? describe.skip : describe)('on PostgreSQL', () => {
  describeInputChecks('PostgreSQL', () => (database as TestDatabase).url);
});
