// Load generator of the acquire benchmark, run as its own process so it does not take the
// server's core: PILOTS concurrent pilots, each acquiring one job at a time with a fresh one-time
// key (as panda-pilot does), until the queue is empty. Prints {"jobs": N, "seconds": S} as JSON.
//
// The pilots' side costs as little as it can, as autocannon does for the other server rows: on a
// machine of two cores every millisecond the generator spends is one the server does not get. So
// each key pair is made with node:crypto (a P-256 key, its public half as a JWK, as
// generatePilotKeyPair sends it) and each call goes through node:http with kept-alive connections;
// fetch and WebCrypto cost the generator about 0.7 ms more per job.
// Usage: node bench-acquire.mjs URL TOKEN_FILE PILOTS
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

const [url, tokenFile, pilots] = process.argv.slice(2);
const authorization = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
const agent = new Agent({ keepAlive: true });

/** A fresh pilot public key, as a JWK of only kty, crv, x and y. */
function publicJwk() {
  const { kty, crv, x, y } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  return { kty, crv, x, y };
}

function post(path, body) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const call = request(
      `${url}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode, body: JSON.parse(text) }));
        response.on('error', reject);
      },
    );
    call.on('error', reject);
    call.end(payload);
  });
}

async function acquireOne() {
  const { status, body } = await post('/api/v1/pilot/acquire_jobs', { publicKey: publicJwk(), nJobs: 1 });
  if (!body.success) throw new Error(`acquire answered ${status}: ${body.message}`);
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
agent.destroy();
