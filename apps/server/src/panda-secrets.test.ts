import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateIssuerKey, signToken } from '@panda-secrets/crypto';
import { ApiPath, FILE_PREFIX, MAX_FILE_BYTES, MAX_VALUE_BYTES } from '@panda-secrets/protocol';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from './setup.js';
import { createFixture, type Fixture } from './testing/fixture.js';

let fx: Fixture;
let alice: string;
let bob: string;

beforeAll(async () => {
  fx = await createFixture();
  alice = await fx.token('alice');
  bob = await fx.token('bob');
});
afterAll(() => fx.close());

function set(token: string, body: unknown) {
  return fx.call(token, 'POST', ApiPath.setUserSecrets, body);
}

async function get(token: string, query = ''): Promise<Record<string, string>> {
  const response = await fx.call(token, 'GET', `${ApiPath.getUserSecrets}${query}`);
  expect(response.statusCode).toBe(200);
  const body = response.json() as { success: boolean; data: string };
  expect(body.success).toBe(true);
  expect(typeof body.data).toBe('string');
  return JSON.parse(body.data) as Record<string, string>;
}

describe('set_user_secrets and get_user_secrets', () => {
  it("upserts, reads back as a JSON string, and answers in PanDA's shape", async () => {
    const response = await set(alice, { key: 'MY_SECRET', value: 'random_string' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ success: true, message: 'OK', data: null });
    await set(alice, { key: 'MY_SECRET', value: 'replaced' });
    expect((await get(alice)).MY_SECRET).toBe('replaced');
  });

  it('keeps a file byte-exact as base64 under ___file___: and filters by keys', async () => {
    const bytes = Buffer.concat([Buffer.from([0, 0xff, 0xc3, 0x28, 0xfe]), randomBytes(4096)]);
    expect((await set(alice, { key: `${FILE_PREFIX}blob.bin`, value: bytes.toString('base64') })).statusCode).toBe(200);
    const dict = await get(alice, `?keys=${encodeURIComponent(`${FILE_PREFIX}blob.bin`)}&keys=MY_SECRET`);
    expect(Object.keys(dict).sort()).toEqual(['MY_SECRET', `${FILE_PREFIX}blob.bin`]);
    expect(Buffer.from(dict[`${FILE_PREFIX}blob.bin`] ?? '', 'base64').equals(bytes)).toBe(true);
  });

  it('deletes one key with value null, falling back to the file of that name', async () => {
    await set(alice, { key: `${FILE_PREFIX}only_file.dat`, value: 'AAE=' });
    expect((await set(alice, { key: 'only_file.dat', value: null })).statusCode).toBe(200);
    expect(await get(alice)).not.toHaveProperty(`${FILE_PREFIX}only_file.dat`);
    const missing = await set(alice, { key: 'NOPE', value: null });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      success: false,
      code: 'NOT_FOUND',
      message: expect.stringContaining('"NOPE"'),
    });
  });

  it("answers a non-string value with PanDA's type error and changes nothing", async () => {
    const response = await set(alice, { key: 'MY_SECRET', value: 5 });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      success: false,
      message: "Type error: 'value' must be of type str, got int.",
      data: null,
    });
    expect((await set(alice, { key: 7, value: 'x' })).json().message).toBe(
      "Type error: 'key' must be of type str, got int.",
    );
    expect((await set(alice, { key: 'K', value: { a: 1 } })).json().message).toBe(
      "Type error: 'value' must be of type str, got dict.",
    );
    expect((await get(alice)).MY_SECRET).toBe('replaced');
  });

  it.each(['1ABC', 'A-B', '', 'A B'])('rejects the env name %j with the rule', async (key) => {
    const response = await set(alice, { key, value: 'v' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('must be an environment variable name');
  });

  it.each(['../x', 'a/b', '.', '..'])('rejects the file name %j with the rule', async (name) => {
    const response = await set(alice, { key: `${FILE_PREFIX}${name}`, value: 'AAAA' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('must be a plain file name');
  });

  it('takes the largest value an environment variable can carry and refuses one byte more, pointing to files', async () => {
    const atLimit = `${'é'.repeat((MAX_VALUE_BYTES - 3) / 2)}x`;
    expect((await set(alice, { key: 'BIG', value: atLimit })).statusCode).toBe(200);
    const over = await set(alice, { key: 'BIG', value: `${atLimit}x` });
    expect(over.statusCode).toBe(413);
    expect(over.json().message).toBe(
      'the value of "BIG" is 131068 bytes of UTF-8; an environment variable can carry at most 131067 bytes under this name ' +
        '(131072 bytes for NAME=value): store it as a secret file instead (at most 1024000 bytes, any bytes)',
    );
    expect((await get(alice, '?keys=BIG')).BIG).toBe(atLimit);
  });

  it('refuses a value holding NUL with 400, storing nothing and quoting nothing of it', async () => {
    const response = await set(alice, { key: 'WITH_NUL', value: 'nul-s3cr3t\u0000tail' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe(
      'the value of "WITH_NUL" holds a NUL character, which no environment variable can carry: store it as a secret file instead (at most 1024000 bytes, any bytes)',
    );
    expect(await get(alice, '?keys=WITH_NUL')).toEqual({});
  });

  it('takes a file of exactly 1,024,000 bytes and refuses one more, sent raw', async () => {
    const exact = randomBytes(MAX_FILE_BYTES);
    expect((await set(alice, { key: `${FILE_PREFIX}big.bin`, value: exact.toString('base64') })).statusCode).toBe(200);
    const over = await set(alice, {
      key: `${FILE_PREFIX}big.bin`,
      value: randomBytes(MAX_FILE_BYTES + 1).toString('base64'),
    });
    expect(over.statusCode).toBe(413);
    expect(over.json().message).toContain('the limit is 1024000 bytes');
    expect(Buffer.from((await get(alice))[`${FILE_PREFIX}big.bin`] ?? '', 'base64').equals(exact)).toBe(true);
    await set(alice, { key: 'big.bin', value: null });
    await set(alice, { key: 'BIG', value: null });
  });

  it('keeps a secret named __proto__ like any other', async () => {
    expect((await set(alice, { key: '__proto__', value: 'proto-value' })).statusCode).toBe(200);
    expect(await get(alice, '?keys=__proto__')).toEqual(JSON.parse('{"__proto__": "proto-value"}'));
    expect((await set(alice, { key: '__proto__', value: null })).statusCode).toBe(200);
  });

  it('refuses a body that is not JSON without quoting it', async () => {
    const response = await set(alice, '{"key": "K", "value": "hunter2-secret"');
    expect(response.statusCode).toBe(400);
    expect(response.body).not.toContain('hunter2');
  });

  it('compresses with gzip when asked', async () => {
    await set(alice, { key: 'LONG_ONE', value: 'z'.repeat(5000) });
    const response = await fx.app.inject({
      method: 'GET',
      url: ApiPath.getUserSecrets,
      headers: { authorization: `Bearer ${alice}`, 'accept-encoding': 'gzip' },
    });
    expect(response.headers['content-encoding']).toBe('gzip');
    const body = JSON.parse(gunzipSync(response.rawPayload).toString('utf8')) as { data: string };
    expect(JSON.parse(body.data).LONG_ONE).toBe('z'.repeat(5000));
  });
});

describe('isolation and deletion of everything', () => {
  it('keeps alice and bob apart: reading, overwriting and deleting', async () => {
    await set(bob, { key: 'BOB_ONLY', value: 'bob-value-1' });
    await set(alice, { key: 'BOB_ONLY', value: 'alice-value' });
    expect((await get(bob)).BOB_ONLY).toBe('bob-value-1');
    expect(await get(alice, '?keys=BOB_ONLY')).toEqual({ BOB_ONLY: 'alice-value' });
    await set(alice, { key: 'BOB_ONLY', value: null });
    expect((await set(alice, { key: 'BOB_ONLY', value: null })).statusCode).toBe(404);
    await set(alice, { key: null, value: null });
    expect(await get(alice)).toEqual({});
    expect(await get(bob)).toEqual({ BOB_ONLY: 'bob-value-1' });
  });

  it('needs the key field to be present, so an empty body deletes nothing', async () => {
    expect((await set(bob, {})).statusCode).toBe(400);
    expect(await get(bob)).toEqual({ BOB_ONLY: 'bob-value-1' });
  });
});

describe('tokens', () => {
  async function expectRefused(token: string, reason: RegExp) {
    const before = await get(bob);
    const response = await set(token, { key: 'BOB_ONLY', value: 'overwritten' });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ success: false, message: expect.stringMatching(reason) });
    expect(response.body).not.toContain(token);
    const read = await fx.call(token, 'GET', ApiPath.getUserSecrets);
    expect(read.statusCode).toBe(403);
    expect(await get(bob)).toEqual(before);
  }

  it('refuses an expired token', async () => {
    await expectRefused(
      await fx.token('bob', undefined, { ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) }),
      /expired/,
    );
  });

  it('refuses the wrong audience and the wrong issuer', async () => {
    const claims = { sub: 'bob', preferred_username: 'bob' };
    await expectRefused(
      await signToken(fx.issuerKey, claims, { issuer: LOCAL_ISSUER, audience: 'other', ttlSeconds: 600 }),
      /audience/,
    );
    await expectRefused(
      await signToken(fx.issuerKey, claims, {
        issuer: 'https://evil.example',
        audience: LOCAL_AUDIENCE,
        ttlSeconds: 600,
      }),
      /issuer/,
    );
  });

  it('refuses an unsigned token, one re-signed with another key, and malformed ones', async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      sub: 'bob',
      preferred_username: 'bob',
      iss: LOCAL_ISSUER,
      aud: LOCAL_AUDIENCE,
      iat: now,
      exp: now + 600,
    };
    await expectRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`, /./);
    const otherKey = await generateIssuerKey();
    await expectRefused(
      await signToken(
        otherKey,
        { sub: 'bob', preferred_username: 'bob' },
        { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, ttlSeconds: 600 },
      ),
      /./,
    );
    await expectRefused('not-a-token', /./);
    await expectRefused('a.b.c', /./);
  });

  it('asks for credentials when none are sent', async () => {
    const response = await fx.app.inject({ method: 'GET', url: ApiPath.getUserSecrets });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ success: false, code: 'AUTH_REQUIRED' });
  });

  it('refuses a pilot token on the secrets calls', async () => {
    const pilot = await fx.token('pilot-1', 'pilot');
    expect((await set(pilot, { key: 'X', value: 'y' })).statusCode).toBe(403);
    const read = await fx.call(pilot, 'GET', ApiPath.getUserSecrets);
    expect(read.statusCode).toBe(403);
    expect(read.json().message).toContain('pilot token');
  });

  it("accepts PanDA's Origin header", async () => {
    const response = await fx.app.inject({
      method: 'GET',
      url: ApiPath.getUserSecrets,
      headers: { authorization: `Bearer ${bob}`, origin: 'atlas' },
    });
    expect(response.statusCode).toBe(200);
  });
});

describe('audit', () => {
  it('records set, delete and delete-all with who, which key and from where, never the value', async () => {
    const carol = await fx.token('carol');
    await set(carol, { key: 'AUDITED', value: 'audited-value-123' });
    await set(carol, { key: 'AUDITED', value: null });
    await set(carol, { key: null, value: null });
    const records = await fx.opened.context.store.listAudit({ actor: 'carol' });
    expect(records.map((record) => [record.action, record.key])).toEqual([
      ['set', 'AUDITED'],
      ['delete', 'AUDITED'],
      ['delete_all', null],
    ]);
    expect(records.every((record) => record.remote === '127.0.0.1' && record.at instanceof Date)).toBe(true);
    expect(JSON.stringify(records)).not.toContain('audited-value-123');
  });
});
