import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiPath, FILE_PREFIX } from '@panda-secrets/protocol';
import { createFixture, type Fixture } from './testing/fixture.js';

let fx: Fixture;
let alice: string;

beforeAll(async () => {
  fx = await createFixture();
  alice = await fx.token('alice');
});
afterAll(() => fx.close());

function set(token: string, key: string, value: string | null) {
  return fx.call(token, 'POST', ApiPath.setUserSecrets, { key, value });
}

function get(token: string) {
  return fx.call(token, 'GET', ApiPath.getUserSecrets);
}

const KNOWN = {
  PLAIN_VALUE: 'plaintext-canary-4f1d9a',
  UNICODE_VALUE: 'naïve-ünïcode-canary-✓',
  JSON_VALUE: '{"a_key": "json-canary-77e2"}',
};
const FILE_BYTES = Buffer.from('file-canary-bytes-0c3b\n');

describe('encryption at rest', () => {
  beforeAll(async () => {
    for (const [key, value] of Object.entries(KNOWN)) expect((await set(alice, key, value)).statusCode).toBe(200);
    expect((await set(alice, `${FILE_PREFIX}canary.txt`, FILE_BYTES.toString('base64'))).statusCode).toBe(200);
  });

  it('leaves no value in the database, its WAL or the server log', async () => {
    const files = (await readdir(fx.dataDir)).filter((name) => name.startsWith('panda.db'));
    expect(files).toContain('panda.db');
    const haystacks = [
      ...(await Promise.all(files.map((name) => readFile(join(fx.dataDir, name))))),
      Buffer.from(fx.log()),
    ];
    expect(fx.log()).toContain('"statusCode":200');
    expect(fx.log()).toContain('"authorization":"[redacted]"');
    for (const haystack of haystacks) {
      for (const value of [
        ...Object.values(KNOWN),
        FILE_BYTES.toString('utf8').trim(),
        FILE_BYTES.toString('base64'),
      ]) {
        expect(haystack.includes(Buffer.from(value))).toBe(false);
      }
      expect(haystack.includes(Buffer.from(alice))).toBe(false);
    }
  });

  it('logs no credential-carrying header, only an allow-list', async () => {
    const response = await fx.app.inject({
      method: 'GET',
      url: ApiPath.getUserSecrets,
      headers: {
        authorization: `Bearer ${alice}`,
        'proxy-authorization': 'Basic cHJveHktY3JlZC05OQ==',
        'x-api-key': 'api-key-cred-98',
        'x-forwarded-access-token': 'forwarded-cred-97',
        cookie: 'session=cookie-cred-96',
        'user-agent': 'pbook-test-agent',
      },
    });
    expect(response.statusCode).toBe(200);
    const log = fx.log();
    expect(log).toContain('"user-agent":"pbook-test-agent"');
    for (const credential of ['cHJveHktY3JlZC05OQ', 'api-key-cred-98', 'forwarded-cred-97', 'cookie-cred-96', alice]) {
      expect(log).not.toContain(credential);
    }
  });

  it('creates the database, key ring and issuer key readable by the owner only', async () => {
    const { stat } = await import('node:fs/promises');
    for (const name of ['panda.db', 'keyring.json', 'issuer-key.json']) {
      expect(((await stat(join(fx.dataDir, name))).mode & 0o777).toString(8)).toBe('600');
    }
  });

  it('reports a tampered ciphertext as an error for that key, not garbage', async () => {
    const { store } = fx.opened.context;
    const [row] = await store.getSecrets('alice', ['PLAIN_VALUE']);
    if (!row) throw new Error('row missing');
    const parts = row.ciphertext.split('.');
    const body = parts[3] ?? '';
    parts[3] = `${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`;
    await store.putSecret({ ...row, ciphertext: parts.join('.') }, fx.settings.quota, {
      actor: 'test',
      action: 'set',
      key: row.key,
    });
    const response = await get(alice);
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({
      success: false,
      code: 'DECRYPT_FAILED',
      message: expect.stringContaining('"PLAIN_VALUE"'),
    });
    await store.putSecret(row, fx.settings.quota, { actor: 'test', action: 'set', key: row.key });
    expect((await get(alice)).statusCode).toBe(200);
  });

  it('does not decrypt a row copied to another owner or another key', async () => {
    const { store } = fx.opened.context;
    const [row] = await store.getSecrets('alice', ['JSON_VALUE']);
    if (!row) throw new Error('row missing');
    await store.putSecret({ ...row, owner: 'mallory' }, fx.settings.quota, {
      actor: 'test',
      action: 'set',
      key: row.key,
    });
    const stolen = await get(await fx.token('mallory'));
    expect(stolen.statusCode).toBe(500);
    expect(stolen.json().code).toBe('DECRYPT_FAILED');
    expect(stolen.body).not.toContain('json-canary');
    await store.putSecret({ ...row, key: 'OTHER_KEY' }, fx.settings.quota, {
      actor: 'test',
      action: 'set',
      key: 'OTHER_KEY',
    });
    const moved = await get(alice);
    expect(moved.statusCode).toBe(500);
    expect(moved.json().message).toContain('"OTHER_KEY"');
    await store.deleteSecret('alice', 'OTHER_KEY', { actor: 'test', action: 'delete', key: 'OTHER_KEY' });
  });
});

describe('over a real socket', () => {
  it('keeps all of 100 concurrent sets of distinct keys from two clients', async () => {
    const address = await fx.app.listen({ host: '127.0.0.1', port: 0 });
    const bob = await fx.token('bob');
    const sets = Array.from({ length: 100 }, (_, index) =>
      fetch(`${address}${ApiPath.setUserSecrets}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${index % 2 === 0 ? alice : bob}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key: `CONCURRENT_${index}`, value: `value-${index}` }),
      }).then((response) => response.status),
    );
    expect(await Promise.all(sets)).toEqual(Array(100).fill(200));
    const read = async (token: string) => {
      const response = await fetch(`${address}${ApiPath.getUserSecrets}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const dict = JSON.parse(((await response.json()) as { data: string }).data) as Record<string, string>;
      return Object.keys(dict).filter((key) => key.startsWith('CONCURRENT_'));
    };
    const keys = [...(await read(alice)), ...(await read(bob))].sort();
    expect(keys).toEqual(Array.from({ length: 100 }, (_, index) => `CONCURRENT_${index}`).sort());
  });
});
