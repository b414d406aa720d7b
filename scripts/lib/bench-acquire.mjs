// Load generator of the acquire benchmark, run as its own process so it does not take the
// server's core: PILOTS concurrent pilots, each acquiring one job at a time with a fresh one-time
// key (as panda-pilot does), until the queue is empty. Prints {"jobs": N, "seconds": S} as JSON.
// Usage: node bench-acquire.mjs URL TOKEN_FILE PILOTS
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [url, tokenFile, pilots] = process.argv.slice(2);
const { generatePilotKeyPair } = await import(join(import.meta.dirname, '../../packages/crypto/dist/index.js'));
const headers = {
  authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`,
  'content-type': 'application/json',
};

async function acquireOne() {
  const { publicJwk } = await generatePilotKeyPair();
  const response = await fetch(`${url}/api/v1/pilot/acquire_jobs`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ publicKey: publicJwk, nJobs: 1 }),
  });
  const body = await response.json();
  if (!body.success) throw new Error(`acquire answered ${response.status}: ${body.message}`);
  const jobs = body.data.jobs;
  if (jobs.some((acquired) => acquired.bundle === null)) throw new Error('a job came without its sealed secrets');
  return jobs.length;
}

let jobs = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: Number(pilots) }, async () => {
    for (;;) {
      const got = await acquireOne();
      if (got === 0) return;
      jobs += got;
    }
  }),
);
console.log(JSON.stringify({ jobs, seconds: (performance.now() - started) / 1000 }));
