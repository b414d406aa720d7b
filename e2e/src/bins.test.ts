import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  REPO_ROOT,
  announceSkip,
  binPath,
  cleanEnv,
  runCli,
  selfSignedCertificate,
  startServer,
  type BinName,
  type RunningServer,
} from '@panda-secrets/testkit';

// The other tests import the sources; these run the bundles `npm run build` makes, through the bins
// users run.
const BINS: BinName[] = ['pbook', 'prun', 'panda-server', 'panda-pilot'];

/** The bundle's files a start-up loads before any lazy import runs: the entry and its static imports. */
function eagerFiles(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    // A static import is a top-level require (a lazy one sits inside `Promise.resolve().then(...)`).
    for (const match of source.matchAll(/^(?:var \w+ = )?(?:__toESM\()?require\("(\.{1,2}\/[^"]+)"\)\)?;$/gm)) {
      visit(join(dirname(file), match[1]!));
    }
  };
  visit(entry);
  return [...seen];
}

/** The npm packages whose code a bundle file holds, from its source map. */
function packagesIn(file: string): string[] {
  const { sources } = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
  return sources.flatMap((source) => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source);
    return match ? [match[1]!] : [];
  });
}

describe.each(BINS)('the bundled %s', (name) => {
  const entry = join(dirname(binPath(name)), '../bundle/cli.cjs');

  it('is built, with source maps', () => {
    expect(existsSync(entry)).toBe(true);
    expect(existsSync(`${entry}.map`)).toBe(true);
  });

  it('answers --help, loading at start-up none of the heavy libraries, which only commands use', async () => {
    const result = await runCli(name, ['--help']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('--help');
    const eager = new Set(eagerFiles(entry).flatMap(packagesIn));
    for (const heavy of ['got', 'jose', 'cli-table3', 'chalk', 'fastify', 'pino', 'pg'])
      expect(eager).not.toContain(heavy);
    expect(eager).toContain('yargs');
  });

  it('answers --help without loading node:crypto, node:http, node:tls or node:zlib', async () => {
    const loaded = await builtinsLoaded(name, ['--help'], cleanEnv());
    expect(loaded).toContain('fs');
    for (const builtin of ['crypto', 'http', 'tls', 'zlib']) expect(loaded).not.toContain(builtin);
  });
});

/** The built-in modules a run of a bin loaded (process.moduleLoadList at its exit). */
async function builtinsLoaded(name: BinName, args: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'panda-builtins-'));
  try {
    const preload = join(dir, 'builtins.cjs');
    await writeFile(
      preload,
      "process.on('exit', () => require('node:fs').writeSync(2, JSON.stringify(process.moduleLoadList)));",
    );
    const run = promisify(execFile);
    const { stderr } = await run(process.execPath, ['--require', preload, binPath(name), ...args], { env });
    return (JSON.parse(stderr) as string[]).flatMap((entry) =>
      entry.startsWith('NativeModule ') ? [entry.slice('NativeModule '.length)] : [],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('bundled commands against a real server', () => {
  let server: RunningServer;
  let work: string;

  beforeAll(async () => {
    server = await startServer();
    work = await mkdtemp(join(tmpdir(), 'panda-bins-'));
  });

  afterAll(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('panda-server token, pbook set_secret and list_secrets, prun, panda-pilot run a job end to end', async () => {
    const env = cleanEnv({ PANDA_URL_SSL: server.url, OIDC_AUTH_TOKEN_FILE: await server.tokenFile('alice') });
    const token = await runCli('panda-server', ['token', '--data-dir', server.dataDir, '--user', 'bob']);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);

    expect((await runCli('pbook', ['set_secret', 'BUNDLE_TOKEN', 'bundle-value'], { env })).code).toBe(0);
    const listed = await runCli('pbook', ['list_secrets'], { env });
    expect(listed).toMatchObject({ code: 0, stdout: 'BUNDLE_TOKEN\tenv\tbundle-value\n' });

    const submitted = await runCli(
      'prun',
      ['--exec', 'echo "$BUNDLE_TOKEN" | wc -c', '--outDS', 'user.alice.bins', '--useSecrets', '--json'],
      { env },
    );
    expect(submitted.code).toBe(0);
    const {
      jobs: [job],
    } = JSON.parse(submitted.stdout) as { jobs: { id: string }[] };
    const pilotEnv = cleanEnv({
      PANDA_URL_SSL: server.url,
      OIDC_AUTH_TOKEN_FILE: await server.tokenFile('pilot-1', { role: 'pilot' }),
    });
    const pilot = await runCli('panda-pilot', ['--exit-when-idle', '--workdir', work], {
      env: pilotEnv,
      timeoutMs: 60_000,
    });
    expect(pilot.code).toBe(0);
    expect(pilot.stderr).toContain(`job ${job!.id}: finished, exit code 0`);
  }, 90_000);

  it('points stack traces at the TypeScript sources with --verbose', async () => {
    // A code cache from an earlier run is there, and changes nothing of it.
    const cacheHome = join(work, 'verbose-cache');
    const env = cleanEnv({ PANDA_URL_SSL: server.url, XDG_CACHE_HOME: cacheHome });
    expect((await runCli('pbook', ['list_secrets'], { env })).code).not.toBe(0);
    expect(await cacheFiles(cacheHome)).not.toEqual([]);
    const result = await runCli('pbook', ['list_secrets', '--verbose'], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/at \S+ \(.*packages\/client\/src\/[\w/-]+\.ts:\d+:\d+\)/);
  });

  it('loads no table code for rows piped to another program', async () => {
    const cacheHome = join(work, 'piped-cache');
    const env = cleanEnv({ PANDA_URL_SSL: server.url, OIDC_AUTH_TOKEN_FILE: await server.tokenFile('carol') });
    expect((await runCli('pbook', ['set_secret', 'PIPED', 'value'], { env })).code).toBe(0);
    const listed = await runCli('pbook', ['list_secrets'], { env: { ...env, XDG_CACHE_HOME: cacheHome } });
    expect(listed).toMatchObject({ code: 0, stdout: 'PIPED\tenv\tvalue\n' });
    // The first run saves the code of exactly the bundle files it loaded.
    const bundle = join(REPO_ROOT, 'apps/pbook/bundle');
    const loaded = (await cacheFiles(cacheHome)).map((name) => {
      const file = name.replace(/\.cache$/, '');
      return existsSync(join(bundle, file)) ? join(bundle, file) : join(bundle, 'chunks', file);
    });
    const packages = new Set(loaded.flatMap(packagesIn));
    expect(packages).toContain('got');
    for (const table of ['cli-table3', 'chalk', 'string-width']) expect(packages).not.toContain(table);
  });

  it('makes a plain-HTTP request without loading HTTP/2', async () => {
    const env = cleanEnv({ PANDA_URL_SSL: server.url, OIDC_AUTH_TOKEN_FILE: await server.tokenFile('dave') });
    const loaded = await builtinsLoaded('pbook', ['list_secrets'], env);
    expect(loaded).toContain('http');
    expect(loaded).not.toContain('http2');
  });
});

/** The code cache files under a cache home (XDG_CACHE_HOME), by name (not the directories' bundle records). */
async function cacheFiles(cacheHome: string): Promise<string[]> {
  const root = join(cacheHome, 'panda-secrets/code-cache');
  if (!existsSync(root)) return [];
  const dirs = await readdir(root);
  return (await Promise.all(dirs.map((dir) => readdir(join(root, dir)))))
    .flat()
    .filter((name) => name.endsWith('.cache'))
    .sort();
}

describe('the code cache of the bundles', () => {
  let cacheHome: string;
  /** pbook's own cache directory under cacheHome, once a run has made it. */
  let cacheDir: () => Promise<string>;
  const debugEnv = () => cleanEnv({ XDG_CACHE_HOME: cacheHome, NODE_DEBUG: 'panda_code_cache' });
  const help = () => runCli('pbook', ['--help'], { env: debugEnv() });
  const uid = process.getuid!();

  beforeEach(async () => {
    cacheHome = await mkdtemp(join(tmpdir(), 'panda-code-cache-'));
    cacheDir = async () => {
      const root = join(cacheHome, 'panda-secrets/code-cache');
      const [dir] = await readdir(root);
      return join(root, dir!);
    };
  });

  afterEach(async () => {
    await rm(cacheHome, { recursive: true, force: true });
  });

  it('is written private by the first run and used by the next, which prints the same', async () => {
    const first = await help();
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/cli\.cjs\.cache written/);
    const dir = await cacheDir();
    expect(basename(dir)).toMatch(/^pbook-[0-9a-f]{8}$/);
    const dirStat = await lstat(dir);
    expect({ uid: dirStat.uid, mode: dirStat.mode & 0o777 }).toEqual({ uid, mode: 0o700 });
    const names = await readdir(dir);
    expect(names).toContain('cli.cjs.cache');
    for (const name of names) {
      const fileStat = await lstat(join(dir, name));
      expect({ name, file: fileStat.isFile(), uid: fileStat.uid, mode: fileStat.mode & 0o777 }).toEqual({
        name,
        file: true,
        uid,
        mode: 0o600,
      });
    }

    const second = await help();
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/cli\.cjs\.cache used/);
    expect(second.stderr).not.toMatch(/written|rejected|refused/);
    // Node's own loader, without any cache, prints the same help.
    const uncached = await runCli('pbook', ['--help'], {
      env: cleanEnv({ XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: '1', NODE_DEBUG: 'panda_code_cache' }),
    });
    expect(uncached).toMatchObject({ code: 0, stdout: first.stdout, stderr: '' });
  });

  it('removes the directories of bundles that are gone, once it writes its own, and nothing else', async () => {
    const root = join(cacheHome, 'panda-secrets/code-cache');
    // A bundle that ran once from a checkout removed since.
    const checkout = await mkdtemp(join(tmpdir(), 'panda-gone-checkout-'));
    const gone = join(checkout, 'apps/gone/bundle');
    await mkdir(gone, { recursive: true });
    await writeFile(join(gone, 'start.cjs'), await readFile(join(REPO_ROOT, 'apps/pbook/bundle/start.cjs')));
    await writeFile(join(gone, 'cli.cjs'), 'console.log("ran");');
    const ran = await promisify(execFile)(process.execPath, [join(gone, 'start.cjs')], { env: debugEnv() });
    expect(ran.stdout).toBe('ran\n');
    const [goneDir] = await readdir(root);
    expect(goneDir).toMatch(/^gone-[0-9a-f]{8}$/);
    expect(await readFile(join(root, goneDir!, 'bundle'), 'utf8')).toBe(gone);
    await rm(checkout, { recursive: true });
    // Directories without a record (an earlier version made them): kept while recently used.
    const recent = join(root, 'pbook-00000001');
    const stale = join(root, 'pbook-00000002');
    for (const dir of [recent, stale]) await mkdir(dir, { mode: 0o700 });
    const monthsAgo = new Date(Date.now() - 40 * 24 * 3_600_000);
    await utimes(stale, monthsAgo, monthsAgo);
    // A link among them is not followed, nor removed.
    const linked = join(cacheHome, 'linked');
    await mkdir(linked, { mode: 0o700 });
    await utimes(linked, monthsAgo, monthsAgo);
    await symlink(linked, join(root, 'pbook-00000003'));

    const first = await help();
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`${goneDir} removed: its bundle ${gone} is gone`);
    expect(first.stderr).toMatch(/pbook-00000002 removed: its bundle \(not recorded\) is gone/);
    const left = (await readdir(root)).sort();
    const own = left.find((name) => !name.startsWith('pbook-0000000'));
    expect(left).toEqual([own, 'pbook-00000001', 'pbook-00000003'].sort());
    expect(await readFile(join(root, own!, 'bundle'), 'utf8')).toBe(join(REPO_ROOT, 'apps/pbook/bundle'));
    expect(existsSync(linked)).toBe(true);
    // A run that writes nothing looks at nothing.
    await rm(recent, { recursive: true });
    await mkdir(stale, { mode: 0o700 });
    await utimes(stale, monthsAgo, monthsAgo);
    const second = await help();
    expect(second.stderr).not.toMatch(/removed|written/);
    expect(existsSync(stale)).toBe(true);
  });

  it('is neither used nor written in a directory that others can write to', async () => {
    await help();
    const dir = await cacheDir();
    await rm(dir, { recursive: true });
    await mkdir(dir);
    await chmod(dir, 0o777);
    const planted = join(dir, 'cli.cjs.cache');
    await writeFile(planted, 'planted', { mode: 0o600 });
    const result = await help();
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/refused: not a directory of uid \d+ writable by it alone/);
    expect(result.stderr).not.toMatch(/\b(used|written)\b/);
    expect(await readdir(dir)).toEqual(['cli.cjs.cache']);
    expect(await readFile(planted, 'utf8')).toBe('planted');
  });

  it('never follows a symbolic link, to its directory or to a cache file', async () => {
    await help();
    const dir = await cacheDir();
    const elsewhere = join(cacheHome, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o700 });
    await rm(dir, { recursive: true });
    await symlink(elsewhere, dir);
    const linkedDir = await help();
    expect(linkedDir.code).toBe(0);
    expect(linkedDir.stderr).toMatch(/refused/);
    expect(await readdir(elsewhere)).toEqual([]);

    await rm(dir);
    await help();
    const target = join(cacheHome, 'target.cache');
    await writeFile(target, await readFile(join(dir, 'cli.cjs.cache')), { mode: 0o600 });
    await rm(join(dir, 'cli.cjs.cache'));
    await symlink(target, join(dir, 'cli.cjs.cache'));
    const linkedFile = await help();
    expect(linkedFile.code).toBe(0);
    expect(linkedFile.stderr).toMatch(/cli\.cjs\.cache unusable/);
    expect(linkedFile.stderr).not.toMatch(/cli\.cjs\.cache used/);
    // The new cache replaced the link; the file it pointed to is as it was.
    expect((await lstat(join(dir, 'cli.cjs.cache'))).isFile()).toBe(true);
    expect(await readFile(target)).toEqual(await readFile(join(cacheHome, 'target.cache')));
    expect((await stat(target)).size).toBeGreaterThan(0);
  });

  it('ignores a cache file another user owns', async () => {
    if (uid !== 0) {
      announceSkip(
        'code cache ownership',
        'not running as root',
        'run the tests as root to give a file to another user',
      );
      return;
    }
    await help();
    const file = join(await cacheDir(), 'cli.cjs.cache');
    await chown(file, 65534, 65534);
    const result = await help();
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/cli\.cjs\.cache refused: not a regular file of uid 0 writable by it alone/);
    expect(result.stderr).not.toMatch(/cli\.cjs\.cache used/);
  });

  it('ignores a damaged cache and one made for another file, and writes them anew', async () => {
    await help();
    const dir = await cacheDir();
    const file = join(dir, 'cli.cjs.cache');
    const header = (await readFile(file, 'latin1')).split('\n')[0]!;
    // A header that fits with V8 data that does not: V8 refuses it.
    await writeFile(file, `${header}\n${'x'.repeat(4096)}`, { mode: 0o600 });
    const damaged = await help();
    expect(damaged.code).toBe(0);
    expect(damaged.stderr).toMatch(/cli\.cjs\.cache rejected by V8/);
    expect(damaged.stderr).toMatch(/cli\.cjs\.cache written/);
    expect((await help()).stderr).toMatch(/cli\.cjs\.cache used/);
    // A cache made for another build of the file (its identity in the header differs).
    await writeFile(file, `${header.replace(/\d+$/, '1')}\n${'x'.repeat(4096)}`, { mode: 0o600 });
    const stale = await help();
    expect(stale.stderr).not.toMatch(/cli\.cjs\.cache (used|rejected)/);
    expect(stale.stderr).toMatch(/cli\.cjs\.cache written/);
  });

  it("removes the caches of an earlier build's files when it writes", async () => {
    await help();
    const dir = await cacheDir();
    await writeFile(join(dir, 'chunk-GONE1234.cjs.cache'), 'old', { mode: 0o600 });
    await rm(join(dir, 'cli.cjs.cache'));
    await help();
    const names = await readdir(dir);
    expect(names).toContain('cli.cjs.cache');
    expect(names).not.toContain('chunk-GONE1234.cjs.cache');
  });
});

describe('the bins as users start them', () => {
  it('run directly, through a symbolic link (npm link) and through npx --no-install', async () => {
    const expected = (await runCli('pbook', ['--version'])).stdout;
    expect(expected).toMatch(/^\d+\.\d+\.\d+\n$/);
    const run = promisify(execFile);
    const env = cleanEnv();
    expect((await run(binPath('pbook'), ['--version'], { env })).stdout).toBe(expected);
    const linkDir = await mkdtemp(join(tmpdir(), 'panda-bin-link-'));
    try {
      await symlink(binPath('pbook'), join(linkDir, 'pbook'));
      expect((await run(join(linkDir, 'pbook'), ['--version'], { env })).stdout).toBe(expected);
    } finally {
      await rm(linkDir, { recursive: true, force: true });
    }
    const npx = await run('npx', ['--no-install', 'pbook', '--version'], { env, cwd: REPO_ROOT });
    expect(npx.stdout).toBe(expected);
  }, 60_000);
});

describe('NODE_EXTRA_CA_CERTS, read only when a TLS connection needs it', () => {
  let dir: string;
  let server: RunningServer;
  let cert: string;
  const run = promisify(execFile);

  /** Runs a bin as a user's shell does, through its #! line. */
  const direct = (name: BinName, args: string[], env: NodeJS.ProcessEnv) =>
    runCli(name, args, { env, direct: true, timeoutMs: 60_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'panda-extra-ca-'));
    const certificate = selfSignedCertificate(dir);
    cert = certificate.cert;
    server = await startServer({ args: ['--tls-cert', cert, '--tls-key', certificate.key] });
  });

  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(BINS)('is not read at the start-up of %s, whose --help opens no connection', async (name) => {
    const env = cleanEnv({ NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') });
    // Node.js itself reads the file at start-up, and warns that it is missing.
    const byNode = await runCli(name, ['--help'], { env });
    expect(byNode.stderr).toContain('Ignoring extra certs from');
    const result = await direct(name, ['--help'], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('--help');
  });

  it("makes pbook trust the server's certificate, and nothing but that does", async () => {
    const env = cleanEnv({ PANDA_URL_SSL: server.url, OIDC_AUTH_TOKEN_FILE: await server.tokenFile('erin') });
    expect(
      (await direct('pbook', ['set_secret', 'OVER_TLS', 'tls-value'], { ...env, NODE_EXTRA_CA_CERTS: cert })).code,
    ).toBe(0);
    const listed = await direct('pbook', ['list_secrets'], { ...env, NODE_EXTRA_CA_CERTS: cert });
    expect(listed).toMatchObject({ code: 0, stdout: 'OVER_TLS\tenv\ttls-value\n' });

    const other = selfSignedCertificate(dir, 'other');
    for (const extra of [undefined, other.cert]) {
      const refused = await direct(
        'pbook',
        ['list_secrets'],
        extra === undefined ? env : { ...env, NODE_EXTRA_CA_CERTS: extra },
      );
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/certificate/i);
    }

    // A file that cannot be read is reported once, as Node.js reports it, and trusts nothing more.
    const missing = await direct('pbook', ['list_secrets'], { ...env, NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.match(/Ignoring extra certs from `[^`]*missing\.pem`, load failed/g)).toHaveLength(1);
  }, 60_000);

  it("is trusted by fetch too, as the server fetches an identity provider's keys", async () => {
    // A bundle of one file that fetches the URL it is given, started by the launcher every bin uses.
    const bundle = join(dir, 'fetch-bundle');
    await mkdir(bundle);
    await writeFile(join(bundle, 'start.cjs'), await readFile(join(REPO_ROOT, 'apps/pbook/bundle/start.cjs')));
    await writeFile(
      join(bundle, 'cli.cjs'),
      'fetch(process.argv[2]).then((r) => r.text()).then((t) => console.log(t), (e) => console.log(String(e.cause?.code)));',
    );
    const { cert: served, key } = selfSignedCertificate(dir, 'fetched');
    const https = createHttpsServer({ cert: readFileSync(served), key: readFileSync(key) }, (_, response) =>
      response.end('fetched over TLS'),
    );
    await new Promise<void>((listening) => https.listen(0, '127.0.0.1', listening));
    try {
      const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/`;
      // Its code cache goes to this test's folder, not the user's.
      const fetchWith = async (env: NodeJS.ProcessEnv) =>
        (await run(process.execPath, [join(bundle, 'start.cjs'), url], { env: { ...env, XDG_CACHE_HOME: dir } }))
          .stdout;
      const withoutNodes = (extra: NodeJS.ProcessEnv) => {
        const env = cleanEnv(extra);
        delete env.NODE_EXTRA_CA_CERTS;
        return env;
      };
      // As the bin's sh line leaves it: the file in PANDA_SECRETS_EXTRA_CA_CERTS, NODE_EXTRA_CA_CERTS unset.
      expect(await fetchWith(withoutNodes({ PANDA_SECRETS_EXTRA_CA_CERTS: served }))).toBe('fetched over TLS\n');
      expect(await fetchWith(withoutNodes({}))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT\n');
      // Set for Node.js itself (a bin run by node directly): the same.
      expect(await fetchWith(cleanEnv({ NODE_EXTRA_CA_CERTS: served }))).toBe('fetched over TLS\n');
    } finally {
      https.close();
    }
  });

  it('makes the pilot trust the server, and gives its jobs the variable as it was set', async () => {
    const env = cleanEnv({ PANDA_URL_SSL: server.url, OIDC_AUTH_TOKEN_FILE: await server.tokenFile('frank') });
    const submitted = await direct(
      'prun',
      [
        '--exec',
        'echo "extra=$NODE_EXTRA_CA_CERTS moved=${PANDA_SECRETS_EXTRA_CA_CERTS-none}"',
        '--outDS',
        'user.frank.tls',
        '--json',
      ],
      { ...env, NODE_EXTRA_CA_CERTS: cert },
    );
    expect(submitted.code).toBe(0);
    const { taskId } = JSON.parse(submitted.stdout) as { taskId: number };
    const pilot = await direct('panda-pilot', ['--exit-when-idle', '--workdir', join(dir, 'work')], {
      ...cleanEnv({
        PANDA_URL_SSL: server.url,
        OIDC_AUTH_TOKEN_FILE: await server.tokenFile('pilot-tls', { role: 'pilot' }),
      }),
      NODE_EXTRA_CA_CERTS: cert,
    });
    expect(pilot.code).toBe(0);
    expect(pilot.stderr).toMatch(/finished, exit code 0/);
    const log = await direct('pbook', ['log', String(taskId)], { ...env, NODE_EXTRA_CA_CERTS: cert });
    expect(log.stdout).toContain(`extra=${cert} moved=none`);
  }, 90_000);
});
