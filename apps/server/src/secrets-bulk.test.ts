import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiPath, FILE_PREFIX } from '@panda-secrets/protocol';
import { createFixture, type Fixture } from './testing/fixture.js';

let fx: Fixture;
let alice: string;
let carol: string;

beforeAll(async () => {
  fx = await createFixture({ quota: { maxSecrets: 4, maxTotalBytes: 1000 } });
  alice = await fx.token('alice');
  carol = await fx.token('carol');
});
afterAll(() => fx.close());

async function secretsOf(token: string): Promise<Record<string, string>> {
  return JSON.parse((await fx.call(token, 'GET', ApiPath.getUserSecrets)).json<{ data: string }>().data) as Record<
    string,
    string
  >;
}

describe('secrets/import', () => {
  it('sets every entry in one call, reporting what it created and replaced, with one audit entry each', async () => {
    await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: 'OLD', value: 'before' });
    const response = await fx.call(alice, 'POST', ApiPath.importSecrets, {
      secrets: [
        { key: 'OLD', value: 'after' },
        { key: 'NEW', value: 'line 1\nline 2' },
        { key: `${FILE_PREFIX}cert.pem`, value: Buffer.from([0, 1, 2, 255]).toString('base64') },
      ],
    });
    expect(response.json()).toEqual({ success: true, message: 'OK', data: { created: 2, replaced: 1 } });
    expect(await secretsOf(alice)).toEqual({
      OLD: 'after',
      NEW: 'line 1\nline 2',
      [`${FILE_PREFIX}cert.pem`]: 'AAEC/w==',
    });
    const audit = await fx.opened.context.store.listAudit({ actor: 'alice' });
    expect(audit.map((entry) => [entry.action, entry.key])).toEqual([
      ['set', 'OLD'],
      ['set', 'OLD'],
      ['set', 'NEW'],
      ['set', `${FILE_PREFIX}cert.pem`],
    ]);
  });

  it('refuses the whole import when one entry is invalid, naming each bad entry and no value', async () => {
    const response = await fx.call(carol, 'POST', ApiPath.importSecrets, {
      secrets: [
        { key: 'GOOD', value: 'hunter2-good' },
        { key: '1BAD', value: 'hunter2-bad' },
        { key: 'NUM', value: 7 },
        { key: 'GOOD', value: 'again' },
      ],
    });
    expect(response.statusCode).toBe(400);
    const { message } = response.json<{ message: string }>();
    expect(message).toMatch(
      /^invalid secret name "1BAD".* \(and 2 more: "NUM": Type error: 'value' must be of type str, got int\.; "GOOD" appears more than once\); nothing was changed$/,
    );
    expect(message).not.toContain('hunter2');
    expect(await secretsOf(carol)).toEqual({});
  });

  it('keeps the message of an import with thousands of bad entries short: ten listed, long keys cut', async () => {
    const long = `X-${'k'.repeat(5000)}`;
    const secrets = [
      { key: long, value: 'hunter2-long' },
      ...Array.from({ length: 2000 }, (_, index) => ({ key: `${index}BAD`, value: `hunter2-${index}` })),
    ];
    const response = await fx.call(carol, 'POST', ApiPath.importSecrets, { secrets });
    expect(response.statusCode).toBe(400);
    const { message } = response.json<{ message: string }>();
    expect(message).toContain(`invalid secret name "X-${'k'.repeat(298)}..."`);
    expect(message).not.toContain('k'.repeat(299));
    expect(message).toContain('invalid secret name "8BAD"');
    expect(message).not.toContain('"9BAD"');
    expect(message).toMatch(/ \(and 2000 more: .*; 1991 not listed\); nothing was changed$/);
    expect(message.length).toBeLessThan(4000);
    expect(message).not.toContain('hunter2');
    expect(await secretsOf(carol)).toEqual({});
  });

  it('refuses an import over the quota as a whole, and changes nothing', async () => {
    await fx.call(carol, 'POST', ApiPath.setUserSecrets, { key: 'KEEP', value: 'kept' });
    const secrets = ['A', 'B', 'C', 'D'].map((key) => ({ key, value: `value-${key}` }));
    const response = await fx.call(carol, 'POST', ApiPath.importSecrets, { secrets });
    expect(response.statusCode).toBe(413);
    expect(response.json<{ code: string }>().code).toBe('QUOTA_EXCEEDED');
    expect(await secretsOf(carol)).toEqual({ KEEP: 'kept' });
  });

  it('refuses a body that is not {secrets: [...]}, and a pilot', async () => {
    expect((await fx.call(carol, 'POST', ApiPath.importSecrets, { key: 'K', value: 'V' })).statusCode).toBe(400);
    expect(
      (await fx.call(carol, 'POST', ApiPath.importSecrets, { secrets: [] })).json<{ message: string }>().message,
    ).toBe('the import holds no secrets: nothing was changed');
    const pilot = await fx.token('pilot-1', 'pilot');
    expect(
      (await fx.call(pilot, 'POST', ApiPath.importSecrets, { secrets: [{ key: 'K', value: 'V' }] })).statusCode,
    ).toBe(403);
  });
});

describe('secrets/metadata', () => {
  it("lists each secret's key, size and last update, and never a value", async () => {
    const dave = await fx.token('dave');
    await fx.call(dave, 'POST', ApiPath.setUserSecrets, { key: 'B', value: 'héllo' });
    await fx.call(dave, 'POST', ApiPath.setUserSecrets, { key: `${FILE_PREFIX}a.dat`, value: 'AAE=' });
    const response = await fx.call(dave, 'GET', ApiPath.secretsMetadata);
    const body = response.json<{ data: Array<{ key: string; size: number; updatedAt: string }> }>();
    expect(body.data.map(({ key, size }) => [key, size])).toEqual([
      ['B', 6],
      [`${FILE_PREFIX}a.dat`, 2],
    ]);
    for (const entry of body.data) expect(entry.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(response.body).not.toContain('héllo');
    // PanDA's call is unchanged: data stays the JSON string of {key: value}.
    expect(typeof (await fx.call(dave, 'GET', ApiPath.getUserSecrets)).json<{ data: unknown }>().data).toBe('string');
  });
});
