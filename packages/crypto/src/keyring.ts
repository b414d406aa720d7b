import { randomBytes } from 'node:crypto';
import { base64url } from 'jose';
import { PandaError, parseSecretJson } from '@panda-secrets/protocol';
import { isNonEmptyString, isRecord, quote } from './lib/values.js';

/** One master key of the at-rest key ring. */
export interface MasterKey {
  /** Key id, written into every ciphertext's header so decryption finds the key. */
  kid: string;
  /** 32 random bytes: the A256GCM key. */
  secret: Uint8Array;
  /** When the key was made (ISO 8601). */
  createdAt: string;
}

/** The master keys; the last is the newest and encrypts, every key decrypts. */
export interface Keyring {
  keys: readonly MasterKey[];
}

const KEYRING_VERSION = 1;
const MASTER_KEY_BYTES = 32;
const KID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** Unpadded base64url of exactly 32 bytes: 43 characters, the last one ending in 2 zero bits. */
const KEY_MATERIAL_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

function newMasterKey(now: Date): MasterKey {
  // The timestamp orders key ids for operators; the random part keeps two keys made in the same
  // second apart.
  const stamp = now.toISOString().replace(/[-:]|\.\d+/g, '');
  return {
    kid: `k-${stamp}-${randomBytes(8).toString('hex')}`,
    secret: new Uint8Array(randomBytes(MASTER_KEY_BYTES)),
    createdAt: now.toISOString(),
  };
}

/**
 * Makes a key ring holding one fresh random master key.
 *
 * @example
 * const keyring = generateKeyring();
 * await writeFile(path, serializeKeyring(keyring), { mode: 0o600 });
 */
export function generateKeyring(options: { now?: Date } = {}): Keyring {
  return { keys: [newMasterKey(options.now ?? new Date())] };
}

/**
 * Returns a new key ring with a fresh master key appended as the newest. The old keys stay, so
 * ciphertexts written under them still decrypt until they are re-encrypted.
 *
 * @example
 * const rotated = rotateKeyring(keyring);
 * rotated.keys.at(-1)!.kid; // the key new ciphertexts use
 */
export function rotateKeyring(keyring: Keyring, options: { now?: Date } = {}): Keyring {
  return { keys: [...keyring.keys, newMasterKey(options.now ?? new Date())] };
}

/**
 * The key ring as JSON text on one line, for a 0600 file or an environment variable:
 * `{"version":1,"keys":[{"kid":"k-…","k":"<base64url>","createdAt":"…"}]}`.
 *
 * @example
 * parseKeyring(serializeKeyring(keyring)); // an equal key ring
 */
export function serializeKeyring(keyring: Keyring): string {
  return JSON.stringify({
    version: KEYRING_VERSION,
    keys: keyring.keys.map((key) => ({ kid: key.kid, k: base64url.encode(key.secret), createdAt: key.createdAt })),
  });
}

function keyringError(problem: string): PandaError {
  return new PandaError('KEYRING', `the key ring is not valid: ${problem}`);
}

function parseMasterKey(entry: unknown, index: number): MasterKey {
  const where = `key #${index + 1}`;
  if (!isRecord(entry)) throw keyringError(`${where} is not an object`);
  const { kid, k, createdAt } = entry;
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
    throw keyringError(`${where} needs a "kid" of 1 to 128 letters, digits, '.', '_' or '-'`);
  }
  // The message names the key id only: the key material must never reach a log.
  if (typeof k !== 'string' || !KEY_MATERIAL_PATTERN.test(k)) {
    throw keyringError(`the key ${quote(kid)} needs a "k" of exactly ${MASTER_KEY_BYTES} bytes in unpadded base64url`);
  }
  if (!isNonEmptyString(createdAt) || Number.isNaN(Date.parse(createdAt))) {
    throw keyringError(`the key ${quote(kid)} needs a "createdAt" date in ISO 8601`);
  }
  return { kid, secret: base64url.decode(k), createdAt };
}

/**
 * Reads a key ring written by {@link serializeKeyring}, strictly: version 1, at least one key,
 * 32-byte keys, unique key ids. Throws PandaError `KEYRING` saying what is wrong, never quoting
 * key material.
 *
 * @example
 * const keyring = parseKeyring(await readFile(path, 'utf8'));
 */
export function parseKeyring(text: string): Keyring {
  const document = parseSecretJson(text, () => keyringError('it is not JSON'));
  if (!isRecord(document)) throw keyringError('it is not a JSON object');
  if (document.version !== KEYRING_VERSION) {
    throw keyringError(`"version" must be ${KEYRING_VERSION}`);
  }
  if (!Array.isArray(document.keys) || document.keys.length === 0) {
    throw keyringError('"keys" must be a non-empty array');
  }
  const keys = document.keys.map(parseMasterKey);
  const seen = new Set<string>();
  for (const { kid } of keys) {
    if (seen.has(kid)) throw keyringError(`the key id ${quote(kid)} appears more than once`);
    seen.add(kid);
  }
  return { keys };
}
