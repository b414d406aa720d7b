// The whole panda-secrets flow on the embedded default, as a user would run it:
// a panda-server on SQLite in a temporary data dir, the seed documentation's three secrets set with
// pbook, a job submitted with `prun --useSecrets --wait` that reads them the way the seed's Python
// snippet does, run by a panda-pilot, and its masked log. Everything started is stopped at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listeningUrl } from './lib/server.mjs';

const root = join(import.meta.dirname, '..');
const bin = (name) =>
  join(root, 'apps', name === 'panda-server' ? 'server' : name === 'panda-pilot' ? 'pilot' : name, 'bin', `${name}.js`);
const work = mkdtempSync(join(tmpdir(), 'panda-demo-'));
const children = [];
/** What the last CLI run wrote on stderr (prun names its task there before waiting). */
let lastStderr = '';

function quote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) || word.startsWith('(') || word.startsWith('>')
    ? word
    : `'${word.replace(/'/g, "'\\''")}'`;
}

function step(text) {
  process.stdout.write(`\n== ${text}\n`);
}

/** Runs a CLI to completion, echoing the command as a user would type it (without blocking the pilot's output). */
function run(name, args, { show = args, input = '', env = {}, echo = true } = {}) {
  process.stdout.write(`$ ${name} ${show.map(quote).join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin(name), ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => {
      out.push(chunk);
      if (echo) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      err.push(chunk);
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      lastStderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${name} exited with ${code}`));
    });
    child.stdin.end(input);
  });
}

function start(name, args) {
  const child = spawn(process.execPath, [bin(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}

async function main() {
  const dataDir = join(work, 'server-data');
  step('panda-server on the embedded default (SQLite), in a temporary data dir');
  const server = start('panda-server', ['--data-dir', dataDir, '--port', '0', '--log-file', join(work, 'server.log')]);
  server.stderr.pipe(process.stderr);
  const url = await listeningUrl(server);
  process.stdout.write(`panda-server listening on ${url}\n`);

  const userToken = join(work, 'user.token');
  const pilotToken = join(work, 'pilot.token');
  writeFileSync(
    userToken,
    await run('panda-server', ['token', '--data-dir', dataDir, '--user', 'jdoe'], {
      show: ['token', '--user', 'jdoe', '> user.token'],
      echo: false,
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    pilotToken,
    await run('panda-server', ['token', '--data-dir', dataDir, '--user', 'pilot-1', '--role', 'pilot'], {
      show: ['token', '--user', 'pilot-1', '--role', 'pilot', '> pilot.token'],
      echo: false,
    }),
    { mode: 0o600 },
  );
  const env = { PANDA_URL_SSL: url, OIDC_AUTH_TOKEN_FILE: userToken, NO_COLOR: '1' };

  step("the seed's pbook session, typed into pbook's shell");
  const secretFile = join(work, 'secret_file_path');
  writeFileSync(
    secretFile,
    Buffer.concat([Buffer.from('demo certificate bytes\n'), Buffer.from([0, 1, 2, 253, 254, 255])]),
  );
  const session = [
    '# set_secret(key, value)',
    "set_secret('MY_SECRET', 'random_string')",
    'import json',
    "set_secret('MY_SECRET_DIC', json.dumps({'a_key': 'a_value'}))",
    `set_secret('my_secret_file.dat', '${secretFile}', is_file=True)`,
    'list_secrets()',
  ].join('\n');
  process.stdout.write(
    `${session
      .split('\n')
      .map((line) => `>>> ${line}`)
      .join('\n')}\n`,
  );
  await run('pbook', [], { show: ['(stdin: the lines above)'], input: `${session}\n`, env });

  step('panda-pilot waiting for jobs on the compute node');
  const pilotWorkdir = join(work, 'pilot-work');
  const pilot = start('panda-pilot', [
    '--server',
    url,
    '--token-file',
    pilotToken,
    '--workdir',
    pilotWorkdir,
    '--poll',
    '1',
  ]);
  pilot.stderr.on('data', (chunk) => process.stdout.write(`[pilot] ${chunk}`));

  // The payload does what the seed's snippet does: env secrets, a JSON secret, a file in its cwd.
  const payload = join(work, 'payload.py');
  writeFileSync(
    payload,
    [
      'import os',
      'import json',
      '# using an ordinary secret',
      "my_secret = os.environ['MY_SECRET']",
      '# using a dictionary secret',
      "dict_secret = json.loads(os.environ['MY_SECRET_DIC'])",
      '# using a secret file',
      "with open('my_secret_file.dat', 'rb') as f:",
      '    file_bytes = f.read()',
      "print('MY_SECRET is', len(my_secret), 'characters long:', my_secret)",
      "print('MY_SECRET_DIC parsed as JSON, a_key =', dict_secret['a_key'])",
      "print('my_secret_file.dat is in', os.getcwd(), 'with', len(file_bytes), 'bytes, mode', oct(os.stat('my_secret_file.dat').st_mode & 0o777))",
      '',
    ].join('\n'),
  );
  const python = spawnSync('python3', ['--version']).status === 0;
  const exec = python ? `python3 ${payload}` : `node -e "console.log('MY_SECRET is', process.env.MY_SECRET)"`;
  step('the job spec carries the names of the secrets, never their values');
  await run('prun', ['--exec', exec, '--outDS', 'user.jdoe.demo', '--useSecrets', '--noSubmit', '--json'], { env });
  step('the job runs under the pilot; prun waits and prints its masked log');
  await run('prun', ['--exec', exec, '--outDS', 'user.jdoe.demo', '--useSecrets', '--wait'], { env });

  const taskId = /^prun: submitted task (\d+)/m.exec(lastStderr)?.[1];
  if (taskId === undefined) throw new Error('prun did not name its task');

  step(
    "bookkeeping in pbook: show() lists your tasks, show(ID) one with its jobs and attempts, log(ID) reads a job's masked log again",
  );
  const bookkeeping = ['show()', `show(${taskId})`, `log(${taskId})`].join('\n');
  process.stdout.write(
    `${bookkeeping
      .split('\n')
      .map((line) => `>>> ${line}`)
      .join('\n')}\n`,
  );
  await run('pbook', [], { show: ['(stdin: the lines above)'], input: `${bookkeeping}\n`, env });

  const left = readdirSync(pilotWorkdir);
  process.stdout.write(
    `the pilot's work dir after the job: ${left.length === 0 ? 'empty, the secret files are gone' : left.join(', ')}\n`,
  );
  if (left.length > 0) throw new Error('the job left files behind');
  step('done: the job printed its secret, and the log shows *** in its place');
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  process.stderr.write(`demo failed: ${error.message}\n`);
} finally {
  stopAll();
  await new Promise((resolve) => setTimeout(resolve, 300));
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
