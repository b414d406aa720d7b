import { KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import {
  BUNDLE_JOB_HEADER,
  PandaError,
  assertEnvName,
  assertFileName,
  assertFileValue,
  parseSecretJson,
} from '@panda-secrets/protocol';
import { SecretBundleSchema, assertSchema } from '@panda-secrets/protocol/schemas';
import type { SecretBundle } from '@panda-secrets/protocol';
import { SEAL_ALG, ecdhEsOpen, ecdhEsSeal, p256Point } from './lib/ecdh-es.js';
import type { OpenedJwe } from './lib/ecdh-es.js';
import { isNonEmptyString, isRecord, quote } from './lib/values.js';

/** A pilot's one-time key pair: the public JWK goes to the server, the private key stays in memory. */
export interface PilotKeyPair {
  publicJwk: JWK;
  privateKey: CryptoKey;
}

/** A pilot's public key as {@link importPilotPublicKey} checked it, ready to seal to. */
export interface PilotPublicKey {
  /** The P-256 point, uncompressed (`04 || x || y`), known to lie on the curve. */
  readonly point: Buffer;
}

/**
 * Makes a fresh ECDH P-256 key pair for one acquire. The private key is not extractable, so it
 * cannot leave the pilot's memory.
 *
 * @example
 * const { publicJwk, privateKey } = await generatePilotKeyPair();
 * const jobs = await client.acquireJobs(publicJwk);
 */
export async function generatePilotKeyPair(): Promise<PilotKeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(SEAL_ALG, { crv: 'P-256' });
  return { publicJwk: await exportJWK(publicKey), privateKey };
}

const PUBLIC_KEY_RULE = 'a public EC P-256 JWK: kty "EC", crv "P-256", x and y, and no private part "d"';

/**
 * Checks the untrusted JWK a pilot sent and imports only its public members. The server calls it
 * before claiming jobs, so a pilot with a bad key loses no job.
 *
 * @example
 * await importPilotPublicKey(request.body.publicKey); // throws PandaError INVALID_INPUT
 */
export async function importPilotPublicKey(jwk: unknown): Promise<PilotPublicKey> {
  const refuse = (problem: string, cause?: unknown): PandaError =>
    new PandaError('INVALID_INPUT', `the pilot public key must be ${PUBLIC_KEY_RULE}; ${problem}`, { cause });
  if (!isRecord(jwk)) throw refuse('it is not a JSON object');
  if ('d' in jwk) throw refuse('it holds a private part "d"');
  if (jwk.kty !== 'EC') throw refuse('its kty is not "EC"');
  if (jwk.crv !== 'P-256') throw refuse('its crv is not "P-256"');
  const { x, y } = jwk;
  if (!isNonEmptyString(x) || !isNonEmptyString(y)) throw refuse('it lacks x or y');
  const point = p256Point(x, y);
  if (point === undefined) throw refuse('x and y are not a point on P-256');
  return { point };
}

/**
 * `value` as a SecretBundle, checked for its shape (the schema), then for its names and files by
 * the rules the server stored them under; else throws what `refuse` makes of the first problem.
 */
function checkedBundle(value: unknown, refuse: (problem: string) => PandaError): SecretBundle {
  try {
    assertSchema(SecretBundleSchema, value, (problem) => problem);
    for (const name of Object.keys(value.env)) assertEnvName(name);
    for (const [name, content] of Object.entries(value.files)) {
      assertFileName(name);
      assertFileValue(name, content);
    }
    return value;
  } catch (error) {
    throw refuse((error as Error).message);
  }
}

/**
 * Seals a job's secrets to a pilot's public key, imported once per acquire by
 * {@link importPilotPublicKey}: a compact JWE (ECDH-ES+A256KW, A256GCM) whose protected header
 * binds the job id. Throws PandaError `INVALID_INPUT` unless the bundle is well formed.
 *
 * @example
 * const publicKey = await importPilotPublicKey(request.body.publicKey);
 * const jwe = await sealBundle(publicKey, { jobId: job.id, env: { TOKEN: 's3cr3t' }, files: {} });
 */
export async function sealBundle(publicKey: PilotPublicKey, bundle: SecretBundle): Promise<string> {
  checkedBundle(bundle, (problem) => new PandaError('INVALID_INPUT', `the secrets bundle is not valid: ${problem}`));
  const plaintext = Buffer.from(JSON.stringify(bundle));
  try {
    return ecdhEsSeal(publicKey.point, { [BUNDLE_JOB_HEADER]: bundle.jobId }, plaintext);
  } finally {
    plaintext.fill(0);
  }
}

function jobMismatch(boundTo: unknown, expectedJobId: string): PandaError {
  const bound = typeof boundTo === 'string' ? quote(boundTo) : '(none)';
  return new PandaError(
    'DECRYPT_FAILED',
    `the secrets bundle is bound to job ${bound}, not job ${quote(expectedJobId)}`,
  );
}

/**
 * Opens a bundle sealed by {@link sealBundle} with the pilot's private key and checks that it was
 * sealed for `expectedJobId`. Throws PandaError `DECRYPT_FAILED` for another key, another job, an
 * altered bundle or a malformed payload; messages never hold secret values. The JWE is decrypted
 * with node:crypto a piece at a time (see ecdhEsOpen): a bundle of a megabyte costs its JSON text
 * and the parsed values, not the several whole copies WebCrypto makes.
 *
 * @example
 * const bundle = await openBundle(privateKey, acquired.bundle, acquired.job.id);
 * spawn('bash', ['-c', spec.exec], { env: { ...baseEnv, ...bundle.env } });
 */
export async function openBundle(privateKey: CryptoKey, jwe: string, expectedJobId: string): Promise<SecretBundle> {
  let opened: OpenedJwe;
  try {
    opened = ecdhEsOpen(KeyObject.from(privateKey), jwe);
  } catch (error) {
    throw new PandaError('DECRYPT_FAILED', 'the secrets bundle could not be opened with this pilot key', {
      cause: error,
    });
  }
  const boundJobId = opened.header[BUNDLE_JOB_HEADER];
  if (boundJobId !== expectedJobId) throw jobMismatch(boundJobId, expectedJobId);
  const payload = parseSecretJson(
    opened.text,
    () => new PandaError('DECRYPT_FAILED', 'the secrets bundle does not hold JSON'),
  );
  if (isRecord(payload) && payload.jobId !== expectedJobId) throw jobMismatch(payload.jobId, expectedJobId);
  const { jobId, env, files } = checkedBundle(
    payload,
    (problem) => new PandaError('DECRYPT_FAILED', `the secrets bundle is not valid: ${problem}`),
  );
  return { jobId, env, files };
}
