import { describe, expect, it } from '@jest/globals';
import { CompactEncrypt, base64url, compactDecrypt, decodeProtectedHeader } from 'jose';
import { decryptAtRest, decryptAtRestSync, encryptAtRest, generateKeyring, rotateKeyring } from './index.js';
import type { Keyring, SecretAddress } from './index.js';
import { pandaErrorOf } from '@panda-secrets/testkit/unit';

const address: SecretAddress = { owner: 'alice', key: 'MY_TOKEN' };
const secretText = 's3cr3t-value-never-in-messages';
const plaintext = new TextEncoder().encode(secretText);

/** Flips one bit of one base64url part of a compact JWE, so the bytes surely change. */
function flipBit(jwe: string, part: number): string {
  const parts = jwe.split('.');
  const bytes = base64url.decode(parts[part]!);
  bytes[0]! ^= 0x01;
  parts[part] = base64url.encode(bytes);
  return parts.join('.');
}

/** Rewrites the protected header's JSON, as an attacker with database access could. */
function rewriteHeader(jwe: string, changes: Record<string, unknown>): string {
  const [header, ...rest] = jwe.split('.');
  const rewritten = { ...(JSON.parse(new TextDecoder().decode(base64url.decode(header!))) as object), ...changes };
  return [base64url.encode(JSON.stringify(rewritten)), ...rest].join('.');
}

/** Both decryptAtRest and decryptAtRestSync refuse `ciphertext` with `message`. */
async function expectDecryptFailure(keyring: Keyring, at: SecretAddress, ciphertext: string, message: string) {
  const error = await pandaErrorOf(decryptAtRest(keyring, at, ciphertext), 'DECRYPT_FAILED');
  expect(error.message).toBe(message);
  expect(error.message).not.toContain(secretText);
  expect(() => decryptAtRestSync(keyring, at, ciphertext)).toThrow(
    expect.objectContaining({ code: 'DECRYPT_FAILED', message }),
  );
}

const altered =
  'the stored secret "MY_TOKEN" could not be decrypted: the ciphertext was altered or the key ring is wrong';

describe('encryption at rest', () => {
  const keyring = generateKeyring();

  it('round-trips text, binary and empty values', async () => {
    const binary = new Uint8Array([0, 255, 10, 13, 0x80]);
    for (const value of [plaintext, binary, new Uint8Array()]) {
      const { ciphertext } = await encryptAtRest(keyring, address, value);
      expect(Buffer.from(await decryptAtRest(keyring, address, ciphertext))).toEqual(Buffer.from(value));
      expect(Buffer.from(decryptAtRestSync(keyring, address, ciphertext))).toEqual(Buffer.from(value));
    }
  });

  it('writes a compact dir/A256GCM JWE binding key id, owner and key, with no plaintext', async () => {
    const { ciphertext, keyId } = await encryptAtRest(keyring, address, plaintext);
    expect(keyId).toBe(keyring.keys[0]?.kid);
    expect(ciphertext.split('.')).toHaveLength(5);
    expect(ciphertext.split('.')[1]).toBe('');
    expect(decodeProtectedHeader(ciphertext)).toEqual({
      alg: 'dir',
      enc: 'A256GCM',
      kid: keyId,
      owner: 'alice',
      key: 'MY_TOKEN',
    });
    expect(ciphertext).not.toContain(base64url.encode(plaintext).slice(0, 10));
    const again = await encryptAtRest(keyring, address, plaintext);
    expect(again.ciphertext).not.toBe(ciphertext);
  });

  it('decrypts old ciphertexts after rotation and encrypts new ones under the newest key', async () => {
    const old = await encryptAtRest(keyring, address, plaintext);
    const rotated = rotateKeyring(keyring);
    const fresh = await encryptAtRest(rotated, address, plaintext);
    expect(fresh.keyId).toBe(rotated.keys[1]?.kid);
    expect(fresh.keyId).not.toBe(old.keyId);
    expect(decodeProtectedHeader(fresh.ciphertext).kid).toBe(fresh.keyId);
    expect(Buffer.from(await decryptAtRest(rotated, address, old.ciphertext))).toEqual(Buffer.from(plaintext));
    expect(Buffer.from(await decryptAtRest(rotated, address, fresh.ciphertext))).toEqual(Buffer.from(plaintext));
  });

  it.each([
    ['the header', 0],
    ['the iv', 2],
    ['the ciphertext', 3],
    ['the tag', 4],
  ])('refuses a ciphertext with %s altered', async (_part, index) => {
    const { ciphertext } = await encryptAtRest(keyring, address, plaintext);
    await expectDecryptFailure(keyring, address, flipBit(ciphertext, index), altered);
  });

  it('refuses a ciphertext with an encrypted key added, truncated, or not a JWE', async () => {
    const { ciphertext } = await encryptAtRest(keyring, address, plaintext);
    const parts = ciphertext.split('.');
    parts[1] = base64url.encode(new Uint8Array(40));
    await expectDecryptFailure(keyring, address, parts.join('.'), altered);
    await expectDecryptFailure(keyring, address, ciphertext.slice(0, -4), altered);
    await expectDecryptFailure(keyring, address, 'not a jwe', altered);
  });

  it('refuses a header rewritten to another owner, since the header is authenticated', async () => {
    const { ciphertext } = await encryptAtRest(keyring, address, plaintext);
    const stolen = rewriteHeader(ciphertext, { owner: 'mallory' });
    await expectDecryptFailure(keyring, { owner: 'mallory', key: 'MY_TOKEN' }, stolen, altered);
  });

  it('refuses a ciphertext copied to another owner or another key', async () => {
    const { ciphertext } = await encryptAtRest(keyring, address, plaintext);
    await expectDecryptFailure(
      keyring,
      { owner: 'mallory', key: 'MY_TOKEN' },
      ciphertext,
      'the stored secret "MY_TOKEN" of owner "mallory" does not belong to this address: it was encrypted for another owner or key',
    );
    await expectDecryptFailure(
      keyring,
      { owner: 'alice', key: 'OTHER' },
      ciphertext,
      'the stored secret "OTHER" of owner "alice" does not belong to this address: it was encrypted for another owner or key',
    );
  });

  it('refuses a ciphertext under a key ring without its key id, naming the key id', async () => {
    const { ciphertext, keyId } = await encryptAtRest(keyring, address, plaintext);
    await expectDecryptFailure(
      generateKeyring(),
      address,
      ciphertext,
      `the stored secret "MY_TOKEN" was encrypted under the master key "${keyId}", which is not in the key ring`,
    );
  });

  it('refuses a ciphertext when the key ring holds another key under the same key id', async () => {
    const { ciphertext } = await encryptAtRest(keyring, address, plaintext);
    const impostor: Keyring = { keys: [{ ...generateKeyring().keys[0]!, kid: keyring.keys[0]!.kid }] };
    await expectDecryptFailure(impostor, address, ciphertext, altered);
  });

  it('writes what jose decrypts, and reads what jose encrypted, in the same stored format', async () => {
    const key = keyring.keys[0]!;
    const { ciphertext } = await encryptAtRest(keyring, address, plaintext);
    const opened = await compactDecrypt(ciphertext, key.secret, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    expect(new TextDecoder().decode(opened.plaintext)).toBe(secretText);
    expect(opened.protectedHeader).toEqual({
      alg: 'dir',
      enc: 'A256GCM',
      kid: key.kid,
      owner: 'alice',
      key: 'MY_TOKEN',
    });

    const fromJose = await new CompactEncrypt(plaintext)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: key.kid, owner: 'alice', key: 'MY_TOKEN' })
      .encrypt(key.secret);
    expect(new TextDecoder().decode(await decryptAtRest(keyring, address, fromJose))).toBe(secretText);
    for (const part of [0, 2, 3, 4]) await expectDecryptFailure(keyring, address, flipBit(fromJose, part), altered);
  });

  it('refuses a jose JWE of another algorithm, with compression or critical members, or a short tag', async () => {
    const key = keyring.keys[0]!;
    const header = { alg: 'dir', enc: 'A256GCM', kid: key.kid, owner: 'alice', key: 'MY_TOKEN' };
    const cbc = await new CompactEncrypt(plaintext)
      .setProtectedHeader({ ...header, enc: 'A128CBC-HS256' })
      .encrypt(new Uint8Array(32));
    await expectDecryptFailure(keyring, address, cbc, altered);
    const { ciphertext } = await encryptAtRest(keyring, address, plaintext);
    await expectDecryptFailure(keyring, address, rewriteHeader(ciphertext, { crit: ['exp'], exp: 1 }), altered);
    await expectDecryptFailure(keyring, address, rewriteHeader(ciphertext, { zip: 'DEF' }), altered);
    const parts = ciphertext.split('.');
    parts[4] = base64url.encode(base64url.decode(parts[4]!).subarray(0, 12));
    await expectDecryptFailure(keyring, address, parts.join('.'), altered);
    await expectDecryptFailure(keyring, address, `${ciphertext}=`, altered);
  });

  it('refuses to encrypt with an empty key ring', async () => {
    const error = await pandaErrorOf(encryptAtRest({ keys: [] }, address, plaintext), 'KEYRING');
    expect(error.message).toBe('the key ring holds no key to encrypt with');
  });
});
