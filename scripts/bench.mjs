// Benchmarks (not tests). Each row is a ratio of two measurements made side by side in this process
// tree, so a slow or busy machine moves both: our command against a reference doing the least the
// same job could (`node -e 0` for start-up, a bare fastify app for the server, an in-process jose
// seal loop for dispatch, a bare `bash -c` spawn loop for jobs, PanDA's own Python pbook). HTTP load
// comes from a separate process (autocannon, or scripts/lib/bench-acquire.mjs), so the generator
// does not take the server's core. Every ratio is printed with its target, PASS or MISS; the exit
// status is 1 when a target is missed.
//
// Usage: node scripts/bench.mjs [--quick] [--only GROUP[,GROUP...]]
//   --quick: fewer and shorter runs, and loose targets that catch gross regressions only (CI machines
//   are noisy and shared): a figure that must stay under t may reach 3 t, one that must reach t may
//   fall to t / 10. CI runs it.
//   --only: just these groups of rows: startup (the CLIs' start-up and PanDA's pbook), server,
//   dispatch (acquires and end-to-end jobs), memory (the masker and the pilot's memory).
// Environment: PANDA_CLIENT_PEER, a checkout of PanDA's Python client for the pbook comparison (by
// default shared/peers/panda-client beside the repository); the row is skipped when it or Python's
// `rich` is missing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchMaskerSetup, benchPilotFileSecret } from './lib/masker-bench.mjs';
import { listeningUrl } from './lib/server.mjs';

const quick = process.argv.includes('--quick');
const GROUPS = ['startup', 'server', 'dispatch', 'memory'];
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt === -1 ? GROUPS : (process.argv[onlyAt + 1] ?? '').split(',');
for (const group of only) {
  if (!GROUPS.includes(group)) {
    console.error(`bench: --only takes groups among ${GROUPS.join(', ')}, comma-separated; got "${group}"`);
    process.exit(2);
  }
}
const runs = (group) => only.includes(group);
const root = join(import.meta.dirname, '..');
const bin = {
  pbook: join(root, 'apps/pbook/bin/pbook.js'),
  prun: join(root, 'apps/prun/bin/prun.js'),
  server: join(root, 'apps/server/bin/panda-server.js'),
  pilot: join(root, 'apps/pilot/bin/panda-pilot.js'),
};
const autocannon = join(root, 'node_modules/autocannon/autocannon.js');
const work = mkdtempSync(join(tmpdir(), 'panda-bench-'));
const results = [];
/** Start-up runs per command (after one warm-up), HTTP seconds per load run. */
const RUNS = quick ? 5 : 15;
const LOAD_SECONDS = quick ? 3 : 8;
/** Load runs of each side; the servers are warm from the set-up, so there is no warm-up run. */
const LOAD_ROUNDS = { rounds: quick ? 1 : 2, warmup: false };
const CONNECTIONS = 8;
const children = new Set();

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * The limit a row is checked against. In quick mode (CI, on a machine shared with other work) a
 * target is loosened so that only gross regressions fail: ≤ t becomes ≤ 3 t, ≥ t becomes ≥ t / 10.
 */
const limitOf = (target, better) => (quick ? (better === 'lower' ? target * 3 : target / 10) : target);

/** Records one row: `ratio` against `target`, `better` 'lower' (≤) or 'higher' (≥). */
function recordRatio(name, ratio, target, better, detail = '') {
  const limit = limitOf(target, better);
  const pass = better === 'lower' ? ratio <= limit : ratio >= limit;
  results.push(pass);
  const sign = better === 'lower' ? '<=' : '>=';
  console.log(
    `${pass ? 'PASS' : 'MISS'}  ${name}: ${ratio.toFixed(2)} (target ${sign} ${limit.toFixed(2)})${detail ? `  [${detail}]` : ''}`,
  );
}

/** Records an absolute figure against its target (rows that have no reference to be a ratio of). */
function record(name, value, unit, target, better) {
  const limit = limitOf(target, better);
  const pass = better === 'lower' ? value <= limit : value >= limit;
  results.push(pass);
  console.log(
    `${pass ? 'PASS' : 'MISS'}  ${name}: ${value.toFixed(1)} ${unit} (target ${better === 'lower' ? '<=' : '>='} ${limit} ${unit})`,
  );
}

/**
 * Prints, under a row, what the same measurement gives for a reference that does only the work the
 * row's call cannot do without (the row's ceiling on this machine). It has no target and decides
 * nothing: it tells whether a miss is the code's or the target's.
 */
function recordCeiling(name, ratio, detail) {
  console.log(`CEIL  ${name}: ${ratio.toFixed(2)}  [${detail}]`);
}

function skip(name, why) {
  console.log(`SKIP  ${name}: ${why}`);
}

/** Wall milliseconds of one run of a command, which must exit 0. */
function timeRun(command, args, env = process.env) {
  const t0 = performance.now();
  const run = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t0;
  if (run.status !== 0) throw new Error(`${[command, ...args].join(' ')} exited ${run.status}: ${run.stderr}`);
  return ms;
}

/**
 * Measures A and B in turn (A B A B ...), after a warm-up of each unless `warmup` is false, and
 * returns the median of the A/B ratios pair by pair, so a drift of the machine's speed hits both
 * sides of each pair, with the median figure of each side.
 */
function paired(a, b, { rounds = RUNS, warmup = true } = {}) {
  if (warmup) {
    a();
    b();
  }
  const ratios = [];
  const figures = { a: [], b: [] };
  for (let round = 0; round < rounds; round += 1) {
    const fa = a();
    const fb = b();
    figures.a.push(fa);
    figures.b.push(fb);
    ratios.push(fa / fb);
  }
  return { ratio: median(ratios), a: median(figures.a), b: median(figures.b) };
}

const ms = (value) => `${value.toFixed(0)} ms`;
const nodeBaseline = () => timeRun(process.execPath, ['-e', '0']);
/** The environment of a command run as users run it, by its bin's #! line, on the Node.js that runs this. */
const asUserRuns = (env = process.env) => ({ ...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}` });

function start(command, args, { env = process.env, stderr = 'inherit' } = {}) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', stderr] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function startServer(name) {
  const dataDir = join(work, name);
  // One user makes thousands of calls here: the per-user rate limit is lifted to measure the server.
  const child = start(process.execPath, [
    bin.server,
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--log-level',
    'warn',
    '--rate-limit',
    '1000000',
  ]);
  const url = await listeningUrl(child);
  const token = (role, user) => {
    const args = [
      bin.server,
      'token',
      '--data-dir',
      dataDir,
      '--user',
      user,
      ...(role === 'pilot' ? ['--role', 'pilot'] : []),
    ];
    const file = join(work, `${name}-${user}.token`);
    writeFileSync(file, spawnSync(process.execPath, args, { encoding: 'utf8' }).stdout.trim(), { mode: 0o600 });
    return file;
  };
  return { child, url, token };
}

async function call(url, tokenFile, method, path, body) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8')}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = await response.json();
  if (!answer.success) throw new Error(`${path} answered ${response.status}: ${answer.message}`);
  return answer.data;
}

/** A user with ten 100-byte secrets on a fresh server. */
async function serverWithTenSecrets(name) {
  const server = await startServer(name);
  const user = server.token('user', 'bench');
  for (let index = 0; index < 10; index += 1) {
    await call(server.url, user, 'POST', '/api/v1/creds/set_user_secrets', {
      key: `BENCH_${index}`,
      value: 'v'.repeat(100),
    });
  }
  return { ...server, user };
}

/** Requests per second autocannon (its own process) reaches against `url` with 8 connections. */
function requestsPerSecond(url, options = {}) {
  const args = [autocannon, '--json', '-c', String(CONNECTIONS), '-d', String(LOAD_SECONDS)];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}=${value}`);
  if (options.body !== undefined) args.push('-m', 'POST', '-b', options.body);
  const run = spawnSync(process.execPath, [...args, url], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const report = JSON.parse(run.stdout);
  if (report.non2xx > 0 || report.errors > 0)
    throw new Error(`${url}: ${report.non2xx} non-2xx answers, ${report.errors} errors`);
  return report.requests.average;
}

const perSecond = (value) => `${value.toFixed(0)}/s`;

// --- start-up rows --------------------------------------------------------------------------------

function benchHelpStartup() {
  const names = { pbook: 'pbook', prun: 'prun', server: 'panda-server', pilot: 'panda-pilot' };
  for (const [key, name] of Object.entries(names)) {
    const { ratio, a, b } = paired(() => timeRun(bin[key], ['--help'], asUserRuns()), nodeBaseline);
    recordRatio(`${name} --help / node -e 0`, ratio, 1.4, 'lower', `${ms(a)} vs ${ms(b)}`);
  }
}

/** The environment both pbooks read: server URL and token (PanDA's reads it from PANDA_AUTH_ID_TOKEN). */
function pbookEnv(server) {
  return { ...process.env, PANDA_URL_SSL: server.url, OIDC_AUTH_TOKEN_FILE: server.user };
}

function benchListSecretsStartup(server) {
  const env = pbookEnv(server);
  const ours = () => timeRun(bin.pbook, ['list_secrets'], asUserRuns(env));
  const { ratio, a, b } = paired(ours, nodeBaseline);
  recordRatio('pbook list_secrets (10 secrets) / node -e 0', ratio, 2.2, 'lower', `${ms(a)} vs ${ms(b)}`);
}

/** A Python that can import PanDA's client (it needs `rich`), or undefined. */
function pandaPython(clientDir) {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import rich, pandaclient.PBookCore'], {
      env: { ...process.env, PYTHONPATH: clientDir, PANDA_BEHIND_REAL_LB: '1' },
      stdio: 'ignore',
    });
    if (probe.status === 0) return python;
  }
  return undefined;
}

async function benchPandaPbook(server) {
  const name = "pbook list_secrets (10 secrets) / PanDA's Python pbook list_secrets()";
  // shared/ sits beside the repository, or beside the folder of its work trees.
  const candidates = ['..', '../..'].map((up) => join(root, up, 'shared/peers/panda-client'));
  const clientDir = resolve(
    process.env.PANDA_CLIENT_PEER ?? candidates.find((dir) => existsSync(dir)) ?? candidates[0],
  );
  if (!existsSync(join(clientDir, 'pandaclient/PBookCore.py'))) {
    skip(name, `no PanDA client at ${clientDir} (set PANDA_CLIENT_PEER)`);
    return;
  }
  const python = pandaPython(clientDir);
  if (python === undefined) {
    skip(name, "Python cannot import PanDA's client (install python3-rich and python3-certifi)");
    return;
  }
  const pandaEnv = {
    ...process.env,
    PYTHONPATH: clientDir,
    PANDA_URL_SSL: server.url,
    PANDA_AUTH: 'oidc',
    PANDA_AUTH_VO: 'bench',
    PANDA_AUTH_ID_TOKEN: readFileSync(server.user, 'utf8').trim(),
    // Otherwise the client resolves PanDA's public cache host at import time.
    PANDA_BEHIND_REAL_LB: '1',
  };
  const theirs = () =>
    timeRun(python, ['-c', 'from pandaclient import PBookCore; PBookCore.PBookCore().list_secrets()'], pandaEnv);
  const ours = () => timeRun(bin.pbook, ['list_secrets'], asUserRuns(pbookEnv(server)));
  const { ratio, a, b } = paired(ours, theirs);
  recordRatio(name, ratio, 0.7, 'lower', `${ms(a)} vs ${ms(b)}`);
}

// --- server rows ----------------------------------------------------------------------------------

async function benchServerRates(server) {
  const referenceDir = join(work, 'reference');
  mkdirSync(referenceDir);
  const reference = start(process.execPath, [join(import.meta.dirname, 'lib/bench-reference.mjs'), referenceDir]);
  const bare = await listeningUrl(reference);
  const authorization = `Bearer ${readFileSync(server.user, 'utf8').trim()}`;
  const json = { 'content-type': 'application/json' };
  const hello = () => requestsPerSecond(`${bare}/hello`);

  const get = paired(
    () => requestsPerSecond(`${server.url}/api/v1/creds/get_user_secrets`, { headers: { authorization } }),
    hello,
    LOAD_ROUNDS,
  );
  recordRatio(
    'get_user_secrets (10 secrets) req/s / bare fastify GET',
    get.ratio,
    0.25,
    'higher',
    `${perSecond(get.a)} vs ${perSecond(get.b)}`,
  );
  const decrypt = paired(() => requestsPerSecond(`${bare}/decrypt`), hello, LOAD_ROUNDS);
  recordCeiling(
    'bare fastify decrypting the same 10 secrets / bare fastify GET',
    decrypt.ratio,
    `${perSecond(decrypt.a)} vs ${perSecond(decrypt.b)}`,
  );

  const body = JSON.stringify({ key: 'BENCH_SET', value: 'v'.repeat(100) });
  const post = () => requestsPerSecond(`${bare}/json`, { headers: json, body });
  const set = paired(
    () =>
      requestsPerSecond(`${server.url}/api/v1/creds/set_user_secrets`, { headers: { authorization, ...json }, body }),
    post,
    LOAD_ROUNDS,
  );
  recordRatio(
    'set_user_secrets req/s / bare fastify JSON POST',
    set.ratio,
    0.35,
    'higher',
    `${perSecond(set.a)} vs ${perSecond(set.b)}`,
  );
  const write = paired(
    () => requestsPerSecond(`${bare}/write`, { headers: { authorization, ...json }, body }),
    post,
    LOAD_ROUNDS,
  );
  recordCeiling(
    'bare fastify sealing and storing the same write / bare fastify JSON POST',
    write.ratio,
    `${perSecond(write.a)} vs ${perSecond(write.b)}`,
  );
  reference.kill('SIGTERM');
}

// --- dispatch rows --------------------------------------------------------------------------------

/** Seals per second of jose alone in this process: the bundle's ECDH-ES+A256KW JWE to one imported key. */
async function joseSealRate(seconds) {
  const { CompactEncrypt, exportJWK, generateKeyPair, importJWK } = await import(
    join(root, 'node_modules/jose/dist/webapi/index.js')
  );
  const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256' });
  const key = await importJWK(await exportJWK(publicKey), 'ECDH-ES+A256KW');
  const payload = new TextEncoder().encode(
    JSON.stringify({
      jobId: 'x'.repeat(36),
      env: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`BENCH_${i}`, 'v'.repeat(100)])),
      files: {},
    }),
  );
  let seals = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await new CompactEncrypt(payload)
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', job_id: 'x' })
      .encrypt(key);
    seals += 1;
  }
  return seals / ((performance.now() - started) / 1000);
}

async function submitJobs(server, count, exec) {
  const specs = Array.from({ length: count }, () => ({
    exec,
    outDS: 'user.bench.out',
    secrets: Array.from({ length: 10 }, (_, i) => `BENCH_${i}`),
  }));
  for (let index = 0; index < specs.length; index += 100) {
    await call(server.url, server.user, 'POST', '/api/v1/jobs/submit', { jobs: specs.slice(index, index + 100) });
  }
}

async function benchAcquire() {
  const server = await serverWithTenSecrets('acquire');
  const pilotToken = server.token('pilot', 'bench-pilot');
  const count = quick ? 100 : 400;
  await submitJobs(server, count, 'true');
  // The seal rate is measured before and after the acquires, so a change of the machine's load
  // during the run hits the reference as well.
  const sealsBefore = await joseSealRate(quick ? 1 : 3);
  const run = spawnSync(
    process.execPath,
    [join(import.meta.dirname, 'lib/bench-acquire.mjs'), server.url, pilotToken, '4'],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`the acquire load failed: ${run.stderr}`);
  const { jobs, seconds } = JSON.parse(run.stdout);
  if (jobs !== count) throw new Error(`the pilots acquired ${jobs} of ${count} jobs`);
  server.child.kill('SIGTERM');
  const acquired = jobs / seconds;
  const seals = (sealsBefore + (await joseSealRate(quick ? 1 : 3))) / 2;
  recordRatio(
    'jobs acquired/s with secrets, 4 pilots / jose seals/s in one process',
    acquired / seals,
    0.6,
    'higher',
    `${perSecond(acquired)} vs ${perSecond(seals)}`,
  );
}

/** Jobs per second of `runOne(index)` for `count` indices, awaited 4 at a time. */
async function fourAtATime(count, runOne) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        next += 1;
        await runOne(next);
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** Jobs per second of the bare work: `bash -c CMD` spawned and awaited, 4 at a time. */
function bareSpawnRate(count, exec) {
  return fourAtATime(
    count,
    () =>
      new Promise((done, fail) => {
        const child = spawn('bash', ['-c', exec], {
          stdio: 'ignore',
          env: { ...process.env, BENCH_0: 'v'.repeat(100) },
        });
        child.once('error', fail);
        child.once('exit', done);
      }),
  );
}

async function benchEndToEnd() {
  const server = await serverWithTenSecrets('e2e');
  const pilotToken = server.token('pilot', 'bench-pilot');
  // The row is defined on 200 jobs in both modes: with fewer, the pilots' start-up (each runs an
  // empty isolated job first) weighs on the rate instead of the cost of a job.
  const count = 200;
  const exec = 'echo "$BENCH_0" | wc -c';
  const bareBefore = await bareSpawnRate(count, exec);
  const started = performance.now();
  const submit = spawnSync(
    process.execPath,
    [bin.prun, '--exec', exec, '--outDS', 'user.bench.e2e', '--nJobs', String(count), '--useSecrets', '--json'],
    { env: { ...pbookEnv(server), NO_COLOR: '1' }, encoding: 'utf8' },
  );
  if (submit.status !== 0) throw new Error(`prun failed: ${submit.stderr}`);
  const pilots = Array.from({ length: 4 }, (_, index) =>
    start(
      process.execPath,
      [
        bin.pilot,
        '--server',
        server.url,
        '--token-file',
        pilotToken,
        '--exit-when-idle',
        '--workdir',
        join(work, `pilot-${index}`),
      ],
      {
        stderr: 'ignore',
      },
    ),
  );
  await Promise.all(pilots.map((pilot) => new Promise((done) => pilot.once('exit', done))));
  const seconds = (performance.now() - started) / 1000;
  const jobs = JSON.parse(submit.stdout);
  const ids = (Array.isArray(jobs) ? jobs : jobs.jobs).map((job) => job.id);
  for (const id of ids) {
    const job = await call(server.url, server.user, 'GET', `/api/v1/jobs/${id}`);
    if (job.state !== 'finished') throw new Error(`job ${id} ended ${job.state}`);
  }
  server.child.kill('SIGTERM');
  const ours = count / seconds;
  const bare = (bareBefore + (await bareSpawnRate(count, exec))) / 2;
  recordRatio(
    `end-to-end jobs/s, ${count} jobs with --useSecrets, 4 pilots / bare bash -c spawns/s`,
    ours / bare,
    0.4,
    'higher',
    `${perSecond(ours)} vs ${perSecond(bare)}`,
  );
  const supervised = await supervisedJobRate(count, exec);
  const bareAfter = await bareSpawnRate(count, exec);
  recordCeiling(
    'jobs/s of the job supervisor alone (directory, namespaces, mounts, loader), 4 at a time / bare bash -c spawns/s',
    supervised / bareAfter,
    `${perSecond(supervised)} vs ${perSecond(bareAfter)}`,
  );
}

/**
 * Jobs per second of panda-pilot's job supervisor alone, in this process: each job's directory,
 * its namespaces and mounts, the loader of its environment (the ten secrets of the row) and its
 * clean-up, with no server, pilot or supervisor process around it; 4 at a time.
 */
async function supervisedJobRate(count, exec) {
  const { supervise } = await import(join(root, 'apps/pilot/dist/supervisor.js'));
  const { prepareWorkRoot } = await import(join(root, 'apps/pilot/dist/work-root.js'));
  const workRoot = await prepareWorkRoot(join(work, 'supervised'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (let index = 0; index < 10; index += 1) env[`BENCH_${index}`] = 'v'.repeat(100);
  const never = new Promise(() => undefined);
  return fourAtATime(count, async (index) => {
    const events = [];
    const reports = { output: () => true, drained: () => Promise.resolve(), send: (event) => events.push(event) };
    const request = {
      jobId: `bench-${index}`,
      command: exec,
      env,
      files: {},
      workRoot,
      keepWorkdir: false,
      killGraceMs: 1000,
    };
    await supervise(request, { stop: never, kill: never }, reports, '/bin/bash');
    if (events.length !== 1 || events[0].type !== 'exited' || events[0].code !== 0)
      throw new Error(`a supervised job ended ${JSON.stringify(events)}`);
  });
}

// --- masker rows ----------------------------------------------------------------------------------

async function benchMasker() {
  const { createMasker } = await import(join(root, 'apps/pilot/dist/mask.js'));
  const secrets = Array.from({ length: 50 }, (_, index) => `secret-value-${index}-${'q'.repeat(20)}`);
  const masker = createMasker(secrets);
  const chunk = Buffer.from(
    `${'log line without secrets, just ordinary output of a job\n'.repeat(1000)}${secrets[7]}\n`,
  );
  const total = 64 * 1024 * 1024;
  const heapBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  let written = 0;
  let out = 0;
  while (written < total) {
    out += masker.write(chunk).length;
    written += chunk.length;
  }
  out += masker.end().length;
  const seconds = (performance.now() - t0) / 1000;
  record('masker throughput, 50 secrets', written / seconds / 1024 / 1024, 'MB/s', 20, 'higher');
  record(
    'masker resident memory growth over 64 MB of output',
    (process.memoryUsage().rss - heapBefore) / 1024 / 1024,
    'MB',
    16,
    'lower',
  );
  if (out === 0) throw new Error('masker produced no output');
}

try {
  const extraCa = process.env.NODE_EXTRA_CA_CERTS
    ? `NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}`
    : 'no NODE_EXTRA_CA_CERTS';
  console.log(`panda-secrets benchmarks${quick ? ' (quick: loose targets)' : ''}, node ${process.version}, ${extraCa}`);
  if (runs('startup')) benchHelpStartup();
  if (runs('startup') || runs('server')) {
    const server = await serverWithTenSecrets('secrets');
    if (runs('startup')) {
      benchListSecretsStartup(server);
      await benchPandaPbook(server);
    }
    if (runs('server')) await benchServerRates(server);
    server.child.kill('SIGTERM');
  }
  if (runs('dispatch')) {
    await benchAcquire();
    await benchEndToEnd();
  }
  if (runs('memory')) {
    await benchMasker();
    benchMaskerSetup(work, record);
    await benchPilotFileSecret(work, record, (dataDir) => startServer(basename(dataDir)), bin.server);
  }
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
process.exit(results.every(Boolean) ? 0 : 1);
