import { type Keyring, decryptAtRest, decryptAtRestSync, encryptAtRest } from '@panda-secrets/crypto';
import { PandaError, isPandaError, parseWireKey } from '@panda-secrets/protocol';
import type { AuditInput, SecretCiphertext } from '@panda-secrets/store';
import type { KeyringSource, ServerContext } from './context.js';

/** Encrypts a plaintext under the newest master key, bound to its owner and key. */
export function sealAtRest(ctx: ServerContext, owner: string, key: string, plaintext: Uint8Array) {
  return encryptAtRest(ctx.keyring.current(), { owner, key }, plaintext);
}

/**
 * Decrypts one stored secret: at once (no promise) when the current key ring opens it. A key ring
 * rotated by another process is re-read once before the failure is reported, so instances sharing
 * a key ring file keep working after `rotate-key`.
 */
function openAtRest(keyring: KeyringSource, secret: SecretCiphertext): Uint8Array | Promise<Uint8Array> {
  const tried = keyring.current();
  try {
    return decryptAtRestSync(tried, secret, secret.ciphertext);
  } catch (error) {
    if (!isPandaError(error) || error.code !== 'DECRYPT_FAILED') throw error;
    return openAfterReload(keyring, tried, secret, error);
  }
}

async function openAfterReload(
  keyring: KeyringSource,
  tried: Keyring,
  secret: SecretCiphertext,
  failure: PandaError,
): Promise<Uint8Array> {
  // Many decryptions fail at once after a rotation; whichever reload brought the new ring, each
  // retries with the ring as it is now, if that is not the one it failed with.
  await keyring.reload();
  if (keyring.current() === tried) throw failure;
  return decryptAtRest(keyring.current(), { owner: secret.owner, key: secret.key }, secret.ciphertext);
}

/** The wire form of a stored value: text for an env secret, base64 of the bytes for a file. */
export function wireValue(key: string, plaintext: Uint8Array): string {
  const bytes = Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  return parseWireKey(key).kind === 'file' ? bytes.toString('base64') : bytes.toString('utf8');
}

/** Decrypts stored secrets into a map from key to plaintext, in their order. */
export async function decryptSecrets(
  keyring: KeyringSource,
  stored: readonly SecretCiphertext[],
): Promise<Map<string, Uint8Array>> {
  const opened = stored.map((secret) => openAtRest(keyring, secret));
  // Only a value the current key ring could not open waits for a reload; the others are done.
  const plaintexts = opened.some((plaintext) => plaintext instanceof Promise) ? await Promise.all(opened) : opened;
  return new Map(stored.map((secret, index) => [secret.key, plaintexts[index] as Uint8Array]));
}

/** The audit entry of a caller's action: who, which key, from where; never a value. */
export function auditEntry(
  actor: string,
  action: AuditInput['action'],
  key: string | null,
  remote: string,
  jobId: string | null = null,
): AuditInput {
  return { actor, action, key, remote, jobId };
}

/** NOT_FOUND for a delete of a key that exists neither as an env secret nor as a file. */
export function secretNotFound(key: string): PandaError {
  return new PandaError(
    'NOT_FOUND',
    `no secret named ${JSON.stringify(key)}: nothing was deleted (list your secrets with list_secrets)`,
  );
}
