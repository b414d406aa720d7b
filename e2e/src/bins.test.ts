import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { binPath, cleanEnv, runCli, startServer, type BinName, type RunningServer } from '@panda-secrets/testkit';

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
    for (const match of source.matchAll(/^import\s*(?:[^'";]*?\sfrom\s*)?["'](\.{1,2}\/[^"']+)["'];?$/gm)) {
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
  const entry = join(dirname(binPath(name)), '../bundle/cli.js');

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
});

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
    const result = await runCli('pbook', ['list_secrets', '--verbose'], {
      env: cleanEnv({ PANDA_URL_SSL: server.url }),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/at \S+ \(.*packages\/client\/src\/[\w/-]+\.ts:\d+:\d+\)/);
  });
});
