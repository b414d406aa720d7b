import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { SecretBundle } from '@panda-secrets/protocol';
import { generatePilotKeyPair, importPilotPublicKey, openBundle, sealBundle } from './index.js';
import { pandaErrorOf } from '@panda-secrets/testkit/unit';
import { ecdhEsSeal } from './lib/ecdh-es.js';

const secretValue = 'env-s3cr3t-never-in-messages';
const bundle: SecretBundle = {
  jobId: 'job-1',
  env: { MY_TOKEN: secretValue, EMPTY: '' },
  files: { 'cert.pem': Buffer.from([0, 1, 2, 255]).toString('base64') },
};

/** Seals any payload to a pilot key with any job header, as a forged or buggy server might. */
async function sealRaw(publicJwk: object, payload: unknown, jobHeader: string): Promise<string> {
  const key = await importJWK(publicJwk, 'ECDH-ES+A256KW');
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', job_id: jobHeader })
    .encrypt(key);
}

describe('pilot key pair', () => {
  it('is a public P-256 JWK and a private key that cannot be exported', async () => {
    const { publicJwk, privateKey } = await generatePilotKeyPair();
    expect(Object.keys(publicJwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(privateKey.extractable).toBe(false);
    expect(privateKey.type).toBe('private');
  });
});

describe('sealed bundles', () => {
  it('round-trip through the JSON a pilot sends, bound to the job in the header', async () => {
    const pilot = await generatePilotKeyPair();
    const jwe = await sealBundle(await importPilotPublicKey(JSON.parse(JSON.stringify(pilot.publicJwk))), bundle);
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', job_id: 'job-1' });
    expect(jwe).not.toContain(secretValue);
    expect(await openBundle(pilot.privateKey, jwe, 'job-1')).toEqual(bundle);
  });

  it('are standard JWEs that jose opens, each with its own ephemeral key', async () => {
    const pilot = await generatePilotKeyPair();
    const key = await importPilotPublicKey(pilot.publicJwk);
    const [first, second] = [await sealBundle(key, bundle), await sealBundle(key, bundle)];
    const opened = await compactDecrypt(first!, pilot.privateKey);
    expect(JSON.parse(new TextDecoder().decode(opened.plaintext))).toEqual(bundle);
    expect(Object.keys(opened.protectedHeader).sort()).toEqual(['alg', 'enc', 'epk', 'job_id']);
    expect(opened.protectedHeader.epk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      y: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(decodeProtectedHeader(second!).epk).not.toEqual(opened.protectedHeader.epk);
    expect(second!.split('.')[1]).not.toBe(first!.split('.')[1]);
  });

  it('cannot be opened with another pilot key', async () => {
    const pilotA = await generatePilotKeyPair();
    const pilotB = await generatePilotKeyPair();
    const jwe = await sealBundle(await importPilotPublicKey(pilotA.publicJwk), bundle);
    const error = await pandaErrorOf(openBundle(pilotB.privateKey, jwe, 'job-1'), 'DECRYPT_FAILED');
    expect(error.message).toBe('the secrets bundle could not be opened with this pilot key');
  });

  it('cannot be opened when altered', async () => {
    const pilot = await generatePilotKeyPair();
    const parts = (await sealBundle(await importPilotPublicKey(pilot.publicJwk), bundle)).split('.');
    parts[3] = `${parts[3]!.startsWith('A') ? 'B' : 'A'}${parts[3]!.slice(1)}`;
    const error = await pandaErrorOf(openBundle(pilot.privateKey, parts.join('.'), 'job-1'), 'DECRYPT_FAILED');
    expect(error.message).toBe('the secrets bundle could not be opened with this pilot key');
  });

  it('open a large bundle that jose sealed, decrypted a piece at a time', async () => {
    const pilot = await generatePilotKeyPair();
    const large: SecretBundle = { ...bundle, files: { 'big.bin': randomBytes(1_000_000).toString('base64') } };
    const jwe = await sealRaw(pilot.publicJwk, large, 'job-1');
    expect(await openBundle(pilot.privateKey, jwe, 'job-1')).toEqual(large);
  });

  it.each([
    [
      'a character outside base64url in the ciphertext',
      (parts: string[]) => [parts[0], parts[1], parts[2], `${parts[3]}!`, parts[4]],
    ],
    ['padding on the tag', (parts: string[]) => [parts[0], parts[1], parts[2], parts[3], `${parts[4]}==`]],
    ['a short iv', (parts: string[]) => [parts[0], parts[1], parts[2]!.slice(4), parts[3], parts[4]]],
    ['a sixth part', (parts: string[]) => [...parts, '']],
    ['no tag', (parts: string[]) => parts.slice(0, 4)],
  ])('cannot be opened with %s', async (_what, alter) => {
    const pilot = await generatePilotKeyPair();
    const parts = (await sealBundle(await importPilotPublicKey(pilot.publicJwk), bundle)).split('.');
    const error = await pandaErrorOf(openBundle(pilot.privateKey, alter(parts).join('.'), 'job-1'), 'DECRYPT_FAILED');
    expect(error.message).toBe('the secrets bundle could not be opened with this pilot key');
  });

  it.each([
    ['compressed', { zip: 'DEF' }],
    ['with critical extensions', { crit: ['exp'], exp: 1 }],
  ])('are refused when %s', async (_what, header) => {
    const pilot = await generatePilotKeyPair();
    const { point } = await importPilotPublicKey(pilot.publicJwk);
    const jwe = ecdhEsSeal(point, { job_id: 'job-1', ...header }, Buffer.from(JSON.stringify(bundle)));
    const error = await pandaErrorOf(openBundle(pilot.privateKey, jwe, 'job-1'), 'DECRYPT_FAILED');
    expect(error.message).toBe('the secrets bundle could not be opened with this pilot key');
  });

  it('are refused when sealed with another algorithm', async () => {
    const pilot = await generatePilotKeyPair();
    const key = await importJWK(pilot.publicJwk, 'ECDH-ES');
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(bundle)))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', job_id: 'job-1' })
      .encrypt(key);
    const error = await pandaErrorOf(openBundle(pilot.privateKey, jwe, 'job-1'), 'DECRYPT_FAILED');
    expect(error.message).toBe('the secrets bundle could not be opened with this pilot key');
  });

  it('for job 1 is refused as job 2', async () => {
    const pilot = await generatePilotKeyPair();
    const jwe = await sealBundle(await importPilotPublicKey(pilot.publicJwk), bundle);
    const error = await pandaErrorOf(openBundle(pilot.privateKey, jwe, 'job-2'), 'DECRYPT_FAILED');
    expect(error.message).toBe('the secrets bundle is bound to job "job-1", not job "job-2"');
  });

  it('is refused when the payload names another job than the header', async () => {
    const pilot = await generatePilotKeyPair();
    const jwe = await sealRaw(pilot.publicJwk, { ...bundle, jobId: 'job-9' }, 'job-1');
    const error = await pandaErrorOf(openBundle(pilot.privateKey, jwe, 'job-1'), 'DECRYPT_FAILED');
    expect(error.message).toBe('the secrets bundle is bound to job "job-9", not job "job-1"');
  });

  it.each([
    ['an env value that is not a string', { env: { MY_TOKEN: 42 } }, 'the env secret "MY_TOKEN" is not a string'],
    ['an invalid env name', { env: { '1BAD': 'x' } }, 'invalid secret name "1BAD"'],
    ['a file name with a path', { files: { '../x': 'AAAA' } }, 'invalid secret file name "../x"'],
    [
      'a file that is not base64',
      { files: { f: 'not base64!' } },
      'the value of secret file "f" must be the file\'s bytes in standard base64',
    ],
    ['no files', { files: undefined }, '"files" is not an object'],
  ])('is refused when its payload has %s', async (_what, changes, message) => {
    const pilot = await generatePilotKeyPair();
    const jwe = await sealRaw(pilot.publicJwk, { ...bundle, ...changes }, 'job-1');
    const error = await pandaErrorOf(openBundle(pilot.privateKey, jwe, 'job-1'), 'DECRYPT_FAILED');
    expect(error.message).toContain(`the secrets bundle is not valid: ${message}`);
    expect(error.message).not.toContain(secretValue);
  });

  it('never echoes a payload that is not JSON', async () => {
    const pilot = await generatePilotKeyPair();
    const key = await importJWK(pilot.publicJwk, 'ECDH-ES+A256KW');
    const jwe = await new CompactEncrypt(new TextEncoder().encode(`{${secretValue}`))
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', job_id: 'job-1' })
      .encrypt(key);
    const error = await pandaErrorOf(openBundle(pilot.privateKey, jwe, 'job-1'), 'DECRYPT_FAILED');
    expect(error.message).toBe('the secrets bundle does not hold JSON');
    expect(error.cause).toBeUndefined();
  });
});

describe('pilot public key checks', () => {
  const rule =
    'the pilot public key must be a public EC P-256 JWK: kty "EC", crv "P-256", x and y, and no private part "d"';

  it.each([
    [
      'a private JWK',
      async () => exportJWK((await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true })).privateKey),
      'it holds a private part "d"',
    ],
    ['an RSA key', async () => exportJWK((await generateKeyPair('RSA-OAEP-256')).publicKey), 'its kty is not "EC"'],
    [
      'a P-384 key',
      async () => exportJWK((await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-384' })).publicKey),
      'its crv is not "P-256"',
    ],
    [
      'an X25519 key',
      async () => exportJWK((await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519' })).publicKey),
      'its kty is not "EC"',
    ],
    ['a key without y', async () => ({ ...(await generatePilotKeyPair()).publicJwk, y: undefined }), 'it lacks x or y'],
    [
      'a point off the curve',
      async () => {
        const { publicJwk } = await generatePilotKeyPair();
        return { ...publicJwk, y: publicJwk.x };
      },
      'x and y are not a point on P-256',
    ],
    [
      'a coordinate of 33 bytes',
      async () => {
        const { publicJwk } = await generatePilotKeyPair();
        return {
          ...publicJwk,
          x: Buffer.concat([Buffer.alloc(1), Buffer.from(publicJwk.x!, 'base64url')]).toString('base64url'),
        };
      },
      'x and y are not a point on P-256',
    ],
    [
      'a coordinate that is not base64url',
      async () => {
        const { publicJwk } = await generatePilotKeyPair();
        return { ...publicJwk, x: `${publicJwk.x}=` };
      },
      'x and y are not a point on P-256',
    ],
    ['a string', async () => 'EC P-256', 'it is not a JSON object'],
    ['null', async () => null, 'it is not a JSON object'],
  ])('rejects %s with INVALID_INPUT', async (_what, makeKey, problem) => {
    const error = await pandaErrorOf(importPilotPublicKey(await makeKey()), 'INVALID_INPUT');
    expect(error.message).toBe(`${rule}; ${problem}`);
  });

  it('rejects a malformed bundle without quoting its values', async () => {
    const { publicJwk } = await generatePilotKeyPair();
    const malformed = { ...bundle, env: { 'BAD NAME': secretValue } };
    const error = await pandaErrorOf(sealBundle(await importPilotPublicKey(publicJwk), malformed), 'INVALID_INPUT');
    expect(error.message).toContain('the secrets bundle is not valid: invalid secret name "BAD NAME"');
    expect(error.message).not.toContain(secretValue);
  });
});
