import { openBundle } from '@panda-secrets/crypto';
import type { PilotKeyPair } from '@panda-secrets/crypto';
import type { AcquiredJob, SecretBundle } from '@panda-secrets/protocol';
import { bundleMaskerFactory } from './mask.js';
import type { Masker } from './mask.js';

/** A job's opened secrets and the maskers of its output. */
export interface JobSecrets {
  secrets: Pick<SecretBundle, 'env' | 'files'>;
  /** Makes a masker for one output stream of the job (and the redactor of its log). */
  newMasker: () => Masker;
}

/**
 * Opens the job's bundle (a job without secrets has none) and prepares the masking of its
 * output. The acquired job is kept while the job runs (its lease, its end report), so its sealed
 * bundle is taken out of it: the bundle's text, the largest copy of a job's secrets, is not kept
 * past its opening.
 */
export async function openJobSecrets(
  privateKey: PilotKeyPair['privateKey'],
  acquired: AcquiredJob,
): Promise<JobSecrets> {
  const { bundle } = acquired;
  acquired.bundle = null;
  const secrets = bundle === null ? { env: {}, files: {} } : await openBundle(privateKey, bundle, acquired.job.id);
  return { secrets, newMasker: bundleMaskerFactory(secrets) };
}
