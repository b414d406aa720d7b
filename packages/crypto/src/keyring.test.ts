import { describe, expect, it } from '@jest/globals';
import { generateKeyring, parseKeyring, rotateKeyring, serializeKeyring } from './index.js';
import { pandaErrorOf } from '@panda-secrets/testkit/unit';

const now = new Date('2025-11-26T06:03:00.123Z');

describe('key ring', () => {
  it('makes one random 32-byte key with a dated key id', () => {
    const keyring = generateKeyring({ now });
    expect(keyring.keys).toHaveLength(1);
    const [key] = keyring.keys;
    expect(key?.kid).toMatch(/^k-20251126T060300Z-[0-9a-f]{16}$/);
    expect(key?.secret).toHaveLength(32);
    expect(key?.createdAt).toBe('2025-11-26T06:03:00.123Z');
    expect(generateKeyring({ now }).keys[0]?.kid).not.toBe(key?.kid);
    expect(Buffer.from(generateKeyring().keys[0]!.secret)).not.toEqual(Buffer.from(key!.secret));
  });

  it('rotates by appending a newest key and keeping the old ones', () => {
    const keyring = generateKeyring({ now });
    const rotated = rotateKeyring(keyring, { now: new Date('2026-01-01T00:00:00Z') });
    expect(keyring.keys).toHaveLength(1);
    expect(rotated.keys).toHaveLength(2);
    expect(rotated.keys[0]).toBe(keyring.keys[0]);
    expect(rotated.keys[1]?.kid).toMatch(/^k-20260101T000000Z-/);
  });

  it('serializes to one line of JSON and parses back to an equal key ring', () => {
    const keyring = rotateKeyring(generateKeyring({ now }));
    const text = serializeKeyring(keyring);
    expect(text).not.toContain('\n');
    const document = JSON.parse(text) as { version: number; keys: Array<Record<string, string>> };
    expect(document.version).toBe(1);
    expect(Object.keys(document.keys[0]!).sort()).toEqual(['createdAt', 'k', 'kid']);
    expect(document.keys[0]?.k).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(parseKeyring(text)).toEqual(keyring);
  });
});

describe('parseKeyring', () => {
  const valid = JSON.parse(serializeKeyring(generateKeyring({ now }))) as {
    version: number;
    keys: Array<Record<string, unknown>>;
  };
  const keyMaterial = valid.keys[0]!.k as string;
  const withKey = (changes: Record<string, unknown>): string =>
    JSON.stringify({ ...valid, keys: [{ ...valid.keys[0], ...changes }] });

  it.each([
    ['text that is not JSON', `{"k":"${keyMaterial}"`, 'the key ring is not valid: it is not JSON'],
    ['a JSON array', '[]', 'the key ring is not valid: it is not a JSON object'],
    ['another version', JSON.stringify({ ...valid, version: 2 }), 'the key ring is not valid: "version" must be 1'],
    ['no version', JSON.stringify({ keys: valid.keys }), 'the key ring is not valid: "version" must be 1'],
    ['no keys', JSON.stringify({ ...valid, keys: [] }), 'the key ring is not valid: "keys" must be a non-empty array'],
    [
      'a key that is not an object',
      JSON.stringify({ ...valid, keys: ['x'] }),
      'the key ring is not valid: key #1 is not an object',
    ],
    ['a key without kid', withKey({ kid: undefined }), `key #1 needs a "kid"`],
    ['a kid with a slash', withKey({ kid: 'a/b' }), `key #1 needs a "kid"`],
    ['a 31-byte key', withKey({ k: Buffer.alloc(31, 7).toString('base64url') }), 'needs a "k" of exactly 32 bytes'],
    ['a 33-byte key', withKey({ k: Buffer.alloc(33, 7).toString('base64url') }), 'needs a "k" of exactly 32 bytes'],
    [
      'a padded base64 key',
      withKey({ k: `${Buffer.alloc(32, 7).toString('base64')}` }),
      'needs a "k" of exactly 32 bytes',
    ],
    ['a key that is not a string', withKey({ k: 42 }), 'needs a "k" of exactly 32 bytes'],
    ['a bad date', withKey({ createdAt: 'yesterday' }), 'needs a "createdAt" date in ISO 8601'],
    ['a repeated kid', JSON.stringify({ ...valid, keys: [valid.keys[0], valid.keys[0]] }), 'appears more than once'],
  ])('rejects %s with KEYRING and no key material', async (_what, text, message) => {
    const error = await pandaErrorOf(() => parseKeyring(text), 'KEYRING');
    expect(error.message).toContain(message);
    expect(error.message).not.toContain(keyMaterial);
    expect(error.message).not.toContain(keyMaterial.slice(0, 12));
    expect(error.cause).toBeUndefined();
  });
});
