// The pilot masker's set-up cost, each case in a fresh process (masker-setup.mjs) so that the
// peak resident size it reports is the set-up's own.
//
// Why these targets (2 cores): the set-up runs before each payload starts, so for the largest
// quota a user may hold (500 secrets, 50 MB: here 45 files of 1 MB JSON arrays of short
// strings, the case that once took 197 s and 3.1 GB for 30 files, 5 binary files of 1 MB and
// 450 short values) it must stay within seconds and well inside a small pilot's heap (384 MB);
// for one 1,000,000-byte file it must not cost tens of MB (a pilot's whole job stays within +16 MB).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

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
    ...Array.from({ length: 450 }, (_, index) => [
      `env-${String(index).padStart(3, '0')}`,
      `value-${index}-${randomBytes(40).toString('hex')}`,
    ]),
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
    const run = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, 'masker-setup.mjs'), dir], {
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`masker set-up bench failed: ${run.stderr}`);
    const { seconds, peakGrowthMB } = JSON.parse(run.stdout);
    record(`masker set-up time, ${name}`, seconds, 's', TARGETS[name].seconds, 'lower');
    record(`masker set-up peak memory growth, ${name}`, peakGrowthMB, 'MB', TARGETS[name].megabytes, 'lower');
  }
}

/** Resident size now and its peak since the last reset, in bytes, from /proc. */
function residentSizes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kilobytes('VmRSS'), peak: kilobytes('VmHWM') };
}

/**
 * A real panda-pilot runs one job with one 1,000,000-byte secret file against a real
 * panda-server; records the growth of the pilot's peak resident size over its idle size (the
 * peak is reset through /proc/PID/clear_refs once the pilot idles).
 */
export async function benchPilotFileSecret(work, record, startServer, serverBin) {
  const dataDir = join(work, 'pilot-rss-server');
  const { child: server, url } = await startServer(dataDir);
  const children = [server];
  try {
    const token = (role) =>
      spawnSync(
        process.execPath,
        [serverBin, 'token', '--data-dir', dataDir, '--user', role === 'pilot' ? 'pilot-1' : 'bench', '--role', role],
        { encoding: 'utf8' },
      ).stdout.trim();
    const userHeaders = { authorization: `Bearer ${token('user')}`, 'content-type': 'application/json' };
    const call = async (path, body) => {
      const response = await fetch(
        `${url}${path}`,
        body === undefined
          ? { headers: userHeaders }
          : { method: 'POST', headers: userHeaders, body: JSON.stringify(body) },
      );
      const answer = await response.json();
      if (!answer.success) throw new Error(`${path} answered ${response.status}: ${answer.message}`);
      return answer.data;
    };
    await call('/api/v1/creds/set_user_secrets', {
      key: '___file___:big.bin',
      value: randomBytes(1_000_000).toString('base64'),
    });
    const tokenFile = join(work, 'pilot-token');
    writeFileSync(tokenFile, token('pilot'), { mode: 0o600 });
    const workdir = join(work, 'pilot-rss-work');
    const pilot = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '../../apps/pilot/bin/panda-pilot.js'),
        '--server',
        url,
        '--token-file',
        tokenFile,
        '--workdir',
        workdir,
        '--poll',
        '0.2',
      ],
      {
        stdio: 'ignore',
      },
    );
    children.push(pilot);
    await delay(3000);
    writeFileSync(`/proc/${pilot.pid}/clear_refs`, '5');
    const idle = residentSizes(pilot.pid);
    const [job] = (
      await call('/api/v1/jobs/submit', {
        jobs: [{ exec: 'wc -c < big.bin', outDS: 'user.bench.rss', secrets: ['___file___:big.bin'] }],
      })
    ).jobs;
    let state = job.state;
    while (state !== 'finished' && state !== 'failed') {
      await delay(100);
      ({ state } = await call(`/api/v1/jobs/${job.id}`));
    }
    const { log } = await call(`/api/v1/jobs/${job.id}/log`);
    if (state !== 'finished' || log.trim() !== '1000000') throw new Error(`the pilot's job ended ${state}: ${log}`);
    record(
      'pilot peak resident size growth, one job with one 1,000,000-byte secret file',
      (residentSizes(pilot.pid).peak - idle.rss) / 1024 / 1024,
      'MB',
      16,
      'lower',
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null ? once(child, 'exit') : undefined)));
  }
}
