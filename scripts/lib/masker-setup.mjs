// Measures the pilot masker's set-up for one set of secrets, in a fresh process so that its
// memory is its own: node --expose-gc masker-setup.mjs DIR prints {"seconds", "peakGrowthMB"}.
// DIR holds the secrets as files: env-* are text values, file-* are secret files.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const [dir] = process.argv.slice(2);
const { createMasker } = await import(join(import.meta.dirname, '../../apps/pilot/dist/mask.js'));
const names = readdirSync(dir).sort();
const texts = names.filter((name) => name.startsWith('env-')).map((name) => readFileSync(join(dir, name), 'utf8'));
const files = names.filter((name) => name.startsWith('file-')).map((name) => readFileSync(join(dir, name)));
createMasker(['warm-up-value']);
globalThis.gc?.();
const before = process.memoryUsage().rss;
const t0 = performance.now();
const masker = createMasker({ texts, files });
const seconds = (performance.now() - t0) / 1000;
// The peak resident size of the whole process (kB), so transient allocations count too.
const peakGrowthMB = Math.max(0, process.resourceUsage().maxRSS * 1024 - before) / 1024 / 1024;
if (masker.write('nothing secret here\n') + masker.end() !== 'nothing secret here\n')
  throw new Error('masker altered plain text');
console.log(JSON.stringify({ seconds, peakGrowthMB }));
