import {
  decryptAtRest,
  encryptAtRest,
  generateKeyring,
  parseKeyring,
  serializeKeyring,
  type Keyring,
} from '@panda-secrets/crypto';
import { PandaError, isPandaError } from '@panda-secrets/protocol';
import type { Store } from '@panda-secrets/store';
import type { KeyringSource } from './context.js';
import { readIfExists, readOrCreatePrivateFile } from './files.js';

/** The meta entry holding a value encrypted under the key ring, to detect a wrong key ring at start. */
const KEYRING_CHECK_META = 'keyring_check';
const CHECK_ADDRESS = { owner: 'panda-server', key: 'keyring_check' };
const CHECK_PLAINTEXT = new TextEncoder().encode('panda-server key ring check');

/** Where the key ring comes from: a file (the default, in the data dir) or the text of an environment variable. */
export type KeyringLocation = { file: string } | { text: string; origin: string };

function describe(location: KeyringLocation): string {
  return 'file' in location ? location.file : location.origin;
}

/** A key ring held in memory and, for a file, re-read when another process has rotated it. */
export class LoadedKeyring implements KeyringSource {
  constructor(
    private keyring: Keyring,
    readonly location: KeyringLocation,
  ) {}

  current(): Keyring {
    return this.keyring;
  }

  #reloading: Promise<void> | undefined;

  /** Re-reads the file; concurrent callers share one read. The ring object changes only if its keys did. */
  reload(): Promise<void> {
    this.#reloading ??= this.#read().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #read(): Promise<void> {
    if (!('file' in this.location)) return;
    const text = await readIfExists(this.location.file);
    if (text === null) return;
    const next = parseKeyring(text);
    const known = new Set(this.keyring.keys.map((key) => key.kid));
    if (next.keys.length !== known.size || next.keys.some((key) => !known.has(key.kid))) this.keyring = next;
  }
}

/**
 * Loads the key ring for a store and proves it is the right one by decrypting the store's check
 * value. A new store gets a new key ring (a new file, mode 0600); a store that already holds data
 * never does: a missing or wrong key ring is a clear error, never silent garbage.
 */
export async function loadKeyring(store: Store, location: KeyringLocation): Promise<LoadedKeyring> {
  const check = await store.getMeta(KEYRING_CHECK_META);
  let text: string | null;
  if ('file' in location) {
    text =
      check === null
        ? (await readOrCreatePrivateFile(location.file, () => serializeKeyring(generateKeyring()))).text
        : await readIfExists(location.file);
  } else {
    text = location.text;
  }
  if (text === null) {
    throw new PandaError(
      'KEYRING',
      `the database holds secrets encrypted under a key ring, but there is no key ring at ${describe(location)}; ` +
        'restore that file (or point --keyring-file at it): a new key ring could not decrypt them',
    );
  }
  const keyring = parseKeyring(text);
  if (check === null) {
    const { ciphertext } = await encryptAtRest(keyring, CHECK_ADDRESS, CHECK_PLAINTEXT);
    await store.setMeta(KEYRING_CHECK_META, ciphertext);
  } else {
    await assertKeyringMatches(keyring, check, location);
  }
  return new LoadedKeyring(keyring, location);
}

async function assertKeyringMatches(keyring: Keyring, check: string, location: KeyringLocation): Promise<void> {
  try {
    await decryptAtRest(keyring, CHECK_ADDRESS, check);
  } catch (error) {
    if (!isPandaError(error) || error.code !== 'DECRYPT_FAILED') throw error;
    throw new PandaError(
      'KEYRING',
      `the key ring at ${describe(location)} does not match the database: it cannot decrypt the database's check value (wrong or outdated key ring file?)`,
      { cause: error },
    );
  }
}

/** Re-encrypts the check value under the newest key (after rotation). */
export async function refreshKeyringCheck(store: Store, keyring: Keyring): Promise<void> {
  const { ciphertext } = await encryptAtRest(keyring, CHECK_ADDRESS, CHECK_PLAINTEXT);
  await store.setMeta(KEYRING_CHECK_META, ciphertext);
}
