import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cleanEnv, pandaClientPeer, runCli, startServer, type RunningServer } from '@panda-secrets/testkit';

// PanDA's own Python client as the judge of wire compatibility: its pbook sets, lists and deletes
// against a real panda-server, and our pbook reads the results back (and the other way round).

/** PanDA's client (testkit finds it beside the repository, or at PANDA_CLIENT_PEER), or null: skipped with one line. */
const PEER_DIR = pandaClientPeer();
/** Debian's python3, which has rich and certifi from python3-rich and python3-certifi. */
const PYTHON = '/usr/bin/python3';
const describeInterop = PEER_DIR === null ? describe.skip : describe;

let server: RunningServer;
let dir: string;
let token: string;

beforeAll(async () => {
  if (PEER_DIR === null) return;
  [server, dir] = await Promise.all([startServer(), mkdtemp(join(tmpdir(), 'panda-interop-'))]);
  token = await server.token('alice');
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs PanDA's pbook with `-c STATEMENT`, configured as its README says; nothing is written under PEER_DIR. */
async function pandaPbook(statement: string): Promise<Run> {
  const base = `${server.url}/server/panda`;
  const env = cleanEnv({
    PYTHONPATH: PEER_DIR as string,
    PYTHONDONTWRITEBYTECODE: '1',
    PANDA_AUTH: 'oidc',
    PANDA_AUTH_VO: 'atlas',
    PANDA_BEHIND_REAL_LB: '1',
    PANDA_CONFIG_ROOT: await mkdtemp(join(dir, 'config-')),
    PANDA_URL_SSL: base,
    PANDA_URL: base,
    PANDACACHE_URL: base,
    PANDA_AUTH_ID_TOKEN: token,
    // rich wraps a table at the terminal's width: wide enough for a whole value on one line.
    COLUMNS: '1000',
  });
  return new Promise((done) => {
    execFile(
      PYTHON,
      ['-c', 'import pandaclient.PBookScript as p; p.main()', '-c', statement],
      { cwd: dir, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Our pbook's JSON listing, whole values. */
async function ourListing(): Promise<Array<{ key: string; type: string; value: string }>> {
  const result = await runCli('pbook', ['list-secrets', '--json', '--full'], {
    env: cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: token }),
  });
  expect([result.code, result.stderr]).toEqual([0, '']);
  // Size and time of update are ours alone (PanDA keeps no metadata): the comparison is of what both hold.
  return (JSON.parse(result.stdout) as Array<{ key: string; type: string; value: string }>).map(
    ({ key, type, value }) => ({ key, type, value }),
  );
}

/** A Python string literal for `text` (a JSON string literal is one, for these characters). */
const py = (text: string) => JSON.stringify(text);

/** The rows of a table PanDA's pbook printed: [key, value] from each `  KEY   VALUE  ` line. */
function tableRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(
      (line) => line !== '' && !line.startsWith('PBook user:') && !/^Key\s+Value$/.test(line) && !/^[─━-]+$/.test(line),
    )
    .map((line) => line.split(/\s{2,}/));
}

const LONG_VALUE = 'a value of more than fifty characters: naïve ✓ "quoted" \\ back and {json}';
const FILE_BYTES = Buffer.from(Array.from({ length: 512 }, (_, n) => (n * 7) % 256));

describeInterop("PanDA's pbook against panda-server", () => {
  it('sets a value and a file that our pbook reads back byte for byte', async () => {
    const file = join(dir, 'secret_file.bin');
    await writeFile(file, FILE_BYTES);
    for (const statement of [
      `set_secret('MY_SECRET', ${py(LONG_VALUE)})`,
      `set_secret('SHORT', 'short_value')`,
      `set_secret('my_secret_file.dat', ${py(file)}, is_file=True)`,
    ]) {
      const run = await pandaPbook(statement);
      expect([run.code, run.stderr]).toEqual([0, '']);
      expect(run.stdout).toContain('INFO : Secret set successfully');
    }
    const listed = await ourListing();
    expect(listed).toEqual([
      { key: 'MY_SECRET', type: 'env', value: LONG_VALUE },
      { key: 'SHORT', type: 'env', value: 'short_value' },
      { key: 'my_secret_file.dat', type: 'file', value: FILE_BYTES.toString('base64') },
    ]);
    expect(Buffer.from(listed[2]!.value, 'base64').equals(FILE_BYTES)).toBe(true);
  });

  it('lists what our pbook set, cut at 50 characters and whole with full=True', async () => {
    const env = cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: token });
    const ours = 'set by our pbook, also longer than fifty characters: ✓ naïve';
    expect((await runCli('pbook', ['set-secret', 'OURS', '--value-file', '-'], { env, input: `${ours}\n` })).code).toBe(
      0,
    );

    const short = await pandaPbook('list_secrets()');
    expect([short.code, short.stderr]).toEqual([0, '']);
    expect(tableRows(short.stdout)).toEqual([
      ['MY_SECRET', `${LONG_VALUE.slice(0, 50)}...`],
      ['OURS', `${ours.slice(0, 50)}...`],
      ['SHORT', 'short_value'],
      ['my_secret_file.dat', `${FILE_BYTES.toString('base64').slice(0, 50)}...`],
    ]);
    const full = await pandaPbook('list_secrets(full=True)');
    expect([full.code, full.stderr]).toEqual([0, '']);
    expect(tableRows(full.stdout)).toEqual([
      ['MY_SECRET', LONG_VALUE],
      ['OURS', ours],
      ['SHORT', 'short_value'],
      ['my_secret_file.dat', FILE_BYTES.toString('base64')],
    ]);
  });

  it('deletes a value, a file by its name, and then all, as our pbook sees', async () => {
    expect((await pandaPbook("delete_secret('MY_SECRET')")).code).toBe(0);
    expect((await ourListing()).map((secret) => secret.key)).toEqual(['OURS', 'SHORT', 'my_secret_file.dat']);
    expect((await pandaPbook("delete_secret('my_secret_file.dat')")).code).toBe(0);
    expect((await ourListing()).map((secret) => secret.key)).toEqual(['OURS', 'SHORT']);
    const all = await pandaPbook('delete_all_secrets()');
    expect([all.code, all.stderr]).toEqual([0, '']);
    expect(await ourListing()).toEqual([]);
    expect((await pandaPbook('list_secrets()')).stdout).toContain('No secrets');
  });
});
