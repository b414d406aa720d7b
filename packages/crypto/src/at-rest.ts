import { CompactEncrypt, compactDecrypt } from 'jose';
import type { CompactJWEHeaderParameters, CryptoKey, DecryptOptions } from 'jose';
import { PandaError } from '@panda-secrets/protocol';
import type { Keyring, MasterKey } from './keyring.js';
import { quote } from './lib/values.js';

/** Where a secret is stored: its owner and its wire key. Bound into the ciphertext's header. */
export interface SecretAddress {
  owner: string;
  /** The wire key (`NAME` or `___file___:NAME`). */
  key: string;
}

const AT_REST_ALGORITHMS: DecryptOptions = { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] };

/**
 * Each master key imported once as a non-extractable AES-GCM CryptoKey: importing the raw bytes on
 * every call costs a third of a decryption, and the server decrypts every secret it lists.
 */
const importedKeys = new WeakMap<MasterKey, Promise<CryptoKey>>();

function cryptoKeyOf(key: MasterKey): Promise<CryptoKey> {
  let imported = importedKeys.get(key);
  if (imported === undefined) {
    imported = crypto.subtle.importKey('raw', key.secret, 'AES-GCM', false, ['encrypt', 'decrypt']);
    importedKeys.set(key, imported);
  }
  return imported;
}

function currentKey(keyring: Keyring): MasterKey {
  const key = keyring.keys.at(-1);
  if (key === undefined) throw new PandaError('KEYRING', 'the key ring holds no key to encrypt with');
  return key;
}

/**
 * Encrypts a secret value under the newest master key: a compact JWE (`dir`, A256GCM) whose
 * protected header holds the key id, the owner and the key. The protected header is the AEAD's
 * additional data, so the ciphertext decrypts only at the address it was written for.
 *
 * @example
 * const { ciphertext, keyId } = await encryptAtRest(keyring, { owner: 'alice', key: 'TOKEN' },
 *   new TextEncoder().encode('s3cr3t'));
 */
export async function encryptAtRest(
  keyring: Keyring,
  address: SecretAddress,
  plaintext: Uint8Array,
): Promise<{ ciphertext: string; keyId: string }> {
  const key = currentKey(keyring);
  const ciphertext = await new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: key.kid, owner: address.owner, key: address.key })
    .encrypt(await cryptoKeyOf(key));
  return { ciphertext, keyId: key.kid };
}

/**
 * Decrypts a value written by {@link encryptAtRest} with the key ring's key named in its header,
 * and checks that it was written for `address`. Throws PandaError `DECRYPT_FAILED` when the key id
 * is unknown, the ciphertext was altered, or it belongs to another owner or key; the message never
 * holds the value.
 *
 * @example
 * const plaintext = await decryptAtRest(keyring, { owner: 'alice', key: 'TOKEN' }, row.ciphertext);
 */
export async function decryptAtRest(keyring: Keyring, address: SecretAddress, ciphertext: string): Promise<Uint8Array> {
  const secretName = quote(address.key);
  const findKey = (header: CompactJWEHeaderParameters): Promise<CryptoKey> => {
    const key = keyring.keys.find((candidate) => candidate.kid === header.kid);
    if (key === undefined) {
      const kid = typeof header.kid === 'string' ? quote(header.kid) : '(none)';
      throw new PandaError(
        'DECRYPT_FAILED',
        `the stored secret ${secretName} was encrypted under the master key ${kid}, which is not in the key ring`,
      );
    }
    return cryptoKeyOf(key);
  };
  let result;
  try {
    result = await compactDecrypt(ciphertext, findKey, AT_REST_ALGORITHMS);
  } catch (error) {
    if (error instanceof PandaError) throw error;
    throw new PandaError(
      'DECRYPT_FAILED',
      `the stored secret ${secretName} could not be decrypted: the ciphertext was altered or the key ring is wrong`,
      { cause: error },
    );
  }
  const { owner, key } = result.protectedHeader;
  if (owner !== address.owner || key !== address.key) {
    throw new PandaError(
      'DECRYPT_FAILED',
      `the stored secret ${secretName} of owner ${quote(address.owner)} does not belong to this address: ` +
        'it was encrypted for another owner or key',
    );
  }
  return result.plaintext;
}
