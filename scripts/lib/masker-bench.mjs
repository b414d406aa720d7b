// The pilot masker's set-up cost, each case in a fresh process (masker-setup.mjs) so that the
// peak resident size it reports is the set-up's own.
//
// Why these targets (2 cores): the set-up runs before each payload starts, so for the largest
// quota a user may hold (500 secrets, 50 MB: here 45 files of 1 MB JSON arrays of short
// strings, the case that once took 197 s and 3.1 GB for 30 files, 5 binary files of 1 MB and
// 450 short values) it must stay within seconds and well inside a small pilot's heap (384 MB);
// for one 1,000,000-byte file it must not cost tens of MB (a pilot's whole job stays within +16 MB).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A 1,000,000-byte JSON array of short random strings. */
function jsonArrayFile() {
  const items = [];
  let size = 1;
  while (size < 999_980) {
    const item = JSON.stringify(randomBytes(5).toString('base64url'));
    items.push(item);
    size += item.length + 1;
  }
  return `[${items.join(',')}]`.padEnd(1_000_000, ' ');
}

const CASES = {
  'one 1,000,000-byte binary file': () => [['file-0', randomBytes(1_000_000)]],
  'one 1,000,000-byte JSON text file': () => [['file-0', jsonArrayFile()]],
  'the largest quota (500 secrets, 50 MB)': () => [
    ...Array.from({ length: 45 }, (_, index) => [`file-json-${String(index).padStart(2, '0')}`, jsonArrayFile()]),
    ...Array.from({ length: 5 }, (_, index) => [`file-binary-${index}`, randomBytes(1_000_000)]),
    ...Array.from({ length: 450 }, (_, index) => [`env-${String(index).padStart(3, '0')}`, `value-${index}-${randomBytes(40).toString('hex')}`]),
  ],
};

const TARGETS = {
  'one 1,000,000-byte binary file': { seconds: 1, megabytes: 16 },
  'one 1,000,000-byte JSON text file': { seconds: 1, megabytes: 24 },
  'the largest quota (500 secrets, 50 MB)': { seconds: 15, megabytes: 384 },
};

/** Runs each case and records its set-up time and peak memory growth with `record(name, value, unit, target, better)`. */
export function benchMaskerSetup(work, record) {
  for (const [name, build] of Object.entries(CASES)) {
    const dir = join(work, `masker-${name.replace(/\W+/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of build()) writeFileSync(join(dir, file), content);
    const run = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, 'masker-setup.mjs'), dir], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`masker set-up bench failed: ${run.stderr}`);
    const { seconds, peakGrowthMB } = JSON.parse(run.stdout);
    record(`masker set-up time, ${name}`, seconds, 's', TARGETS[name].seconds, 'lower');
    record(`masker set-up peak memory growth, ${name}`, peakGrowthMB, 'MB', TARGETS[name].megabytes, 'lower');
  }
}
