import { decryptAtRest, encryptAtRest, rotateKeyring, serializeKeyring } from '@panda-secrets/crypto';
import { PandaError } from '@panda-secrets/protocol';
import type { CiphertextUpdate } from '@panda-secrets/store';
import { pathExists, writePrivateFile } from '../files.js';
import { loadKeyring, refreshKeyringCheck } from '../keyring-source.js';
import { keyringLocation, openStore, type ServerSettings } from '../setup.js';

export interface RotateResult {
  count: number;
  keyId: string;
}

/**
 * Adds a new newest master key and re-encrypts every stored secret under it. The key ring file is
 * written first, so a crash midway leaves rows under keys the ring still holds.
 */
export async function runRotateKey(settings: ServerSettings): Promise<RotateResult> {
  const location = keyringLocation(settings);
  if (!('file' in location)) {
    throw new PandaError('CONFIG', `rotate-key writes the new key ring to a file; the key ring comes from ${location.origin}: use --keyring-file`);
  }
  if (!(await pathExists(location.file))) {
    throw new PandaError('CONFIG', `there is no key ring at ${location.file}: nothing to rotate (is --data-dir or --keyring-file right?)`);
  }
  const store = await openStore(settings, { existing: true });
  try {
    const loaded = await loadKeyring(store, location);
    const keyring = rotateKeyring(loaded.current());
    await writePrivateFile(location.file, serializeKeyring(keyring));
    const updates: CiphertextUpdate[] = [];
    for (const secret of await store.allSecrets()) {
      const address = { owner: secret.owner, key: secret.key };
      const plaintext = await decryptAtRest(keyring, address, secret.ciphertext);
      const sealed = await encryptAtRest(keyring, address, plaintext);
      updates.push({ ...address, ciphertext: sealed.ciphertext, keyId: sealed.keyId });
    }
    const count = await store.replaceCiphertexts(updates);
    await refreshKeyringCheck(store, keyring);
    return { count, keyId: keyring.keys[keyring.keys.length - 1]!.kid };
  } finally {
    await store.close();
  }
}
