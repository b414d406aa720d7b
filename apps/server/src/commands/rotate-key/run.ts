import { decryptAtRest, encryptAtRest, rotateKeyring, serializeKeyring } from '@panda-secrets/crypto';
import { PandaError } from '@panda-secrets/protocol';
import type { CiphertextUpdate } from '@panda-secrets/store';
import { pathExists, writePrivateFile } from '../../files.js';
import { loadKeyring, refreshKeyringCheck } from '../../keyring-source.js';
import { keyringLocation, openStore, type ServerSettings } from '../../setup.js';
import type { StoreArgs } from '../options.js';
import { serverSettings } from '../settings.js';
import type { Deps, GlobalOptions } from '../spec.js';

interface RotateResult {
  /** Rows re-encrypted under the new key. */
  count: number;
  keyId: string;
  /** Rows still under an older key: written again under it (by a server not yet on the new ring) in every pass. */
  left: number;
}

/**
 * Passes over the rows not yet under the new key. A row written while a pass runs is left alone
 * by that pass's compare-and-set and taken up by the next one.
 */
const MAX_PASSES = 5;

/**
 * Adds a new newest master key and re-encrypts every stored secret under it. The key ring file is
 * written first, so a crash midway leaves rows under keys the ring still holds. Servers may go on
 * writing meanwhile: each row is rewritten only at the revision that was read, so a value they
 * store is never replaced by the re-encryption of the value before it.
 */
async function rotateKey(settings: ServerSettings): Promise<RotateResult> {
  const location = keyringLocation(settings);
  if (!('file' in location)) {
    throw new PandaError(
      'CONFIG',
      `rotate-key writes the new key ring to a file; the key ring comes from ${location.origin}: use --keyring-file`,
    );
  }
  if (!(await pathExists(location.file))) {
    throw new PandaError(
      'CONFIG',
      `there is no key ring at ${location.file}: nothing to rotate (is --data-dir or --keyring-file right?)`,
    );
  }
  const store = await openStore(settings, { existing: true });
  try {
    const loaded = await loadKeyring(store, location);
    const keyring = rotateKeyring(loaded.current());
    await writePrivateFile(location.file, serializeKeyring(keyring));
    const keyId = keyring.keys[keyring.keys.length - 1]!.kid;
    let count = 0;
    let left = 0;
    for (let pass = 0; pass < MAX_PASSES; pass += 1) {
      const stale = (await store.allSecrets()).filter((secret) => secret.keyId !== keyId);
      const updates: CiphertextUpdate[] = [];
      for (const secret of stale) {
        const address = { owner: secret.owner, key: secret.key };
        const plaintext = await decryptAtRest(keyring, address, secret.ciphertext);
        const sealed = await encryptAtRest(keyring, address, plaintext);
        updates.push({ ...address, ciphertext: sealed.ciphertext, keyId: sealed.keyId, revision: secret.revision });
      }
      const changed = await store.replaceCiphertexts(updates);
      count += changed;
      left = stale.length - changed;
      if (left === 0) break;
    }
    await refreshKeyringCheck(store, keyring);
    return { count, keyId, left };
  } finally {
    await store.close();
  }
}

/** `panda-server rotate-key`: rotates, and says how many secrets moved to which key (and how many did not). */
export async function runRotateKey(deps: Deps, _global: GlobalOptions, options: StoreArgs): Promise<void> {
  const { count, keyId, left } = await rotateKey(serverSettings(options, deps.env));
  deps.stdout.write(`re-encrypted ${count} secrets under key ${keyId}\n`);
  if (left > 0) {
    deps.stderr.write(
      `panda-server: ${left} secrets written during the rotation stay under an older key (still readable); run rotate-key again\n`,
    );
  }
}
