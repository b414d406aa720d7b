import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ApiPath } from '@panda-secrets/protocol';
import { callApi } from '@panda-secrets/testkit';
import { VERSION, runPandaServer, testScratch } from './testing/commands.js';

const scratch = testScratch('panda-program-');
afterAll(() => scratch.cleanUp());

describe('panda-server', () => {
  it('prints its version, and help that lists its commands and each command its options', async () => {
    expect(await runPandaServer(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = await runPandaServer(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'token', 'rotate-key', 'migrate'])
      expect(help.stdout).toContain(`panda-server ${command}`);
    expect(help.stdout).toContain('--max-inflight-bytes');
    const token = await runPandaServer(['token', '--help']);
    expect(token.stdout).toMatch(/^panda-server token\n\nPrint an ID token from the local issuer/);
    expect(token.stdout).not.toContain('--port');
    expect(token.stdout).toContain('Examples:\n  panda-server token --user jdoe --out ~/.panda-token\n');
  });

  it('refuses a wrong command line with exit 2, running nothing', async () => {
    const dir = await scratch.dir();
    expect(await runPandaServer(['rotate-key', '--data-dir', dir, '--port', '1'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'panda-server: unknown option --port\nRun "panda-server --help" for the commands and options.\n',
    });
    expect((await runPandaServer(['token', '--data-dir', dir])).stderr).toMatch(
      /^panda-server: Missing required argument: user\n/,
    );
    // panda-server has no -h and no -v: --help and --verbose only.
    expect((await runPandaServer(['-h'])).code).toBe(2);
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes the key ring from PANDA_SERVER_KEYRING and other options from PANDA_SERVER_*', async () => {
    const dataDir = await scratch.dir();
    await (await scratch.serve(dataDir)).stop();
    const keyring = await readFile(join(dataDir, 'keyring.json'), 'utf8');
    await rm(join(dataDir, 'keyring.json'));
    const env = { PANDA_SERVER_KEYRING: keyring, PANDA_SERVER_LOG_LEVEL: 'warn', PANDA_SERVER_PORT: '0' };
    // No --port: PANDA_SERVER_PORT picks a free one; serve takes no other option from env here.
    const server = await scratch.serve(dataDir, [], env);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toBe('http://127.0.0.1:25080');
    const token = await server.token('alice');
    expect((await callApi(server.url, token, ApiPath.getUserSecrets)).status).toBe(200);
    const stopped = await server.stop();
    expect(stopped.code).toBe(0);
    // At level warn the server logs nothing of its start (info).
    expect(stopped.stderr).not.toContain('Server listening at');
    // token takes neither PANDA_SERVER_PORT nor PANDA_SERVER_LOG_LEVEL, and is not refused for them.
    expect((await runPandaServer(['token', '--data-dir', dataDir, '--user', 'bob'], env)).code).toBe(0);
    await expect(readFile(join(dataDir, 'keyring.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes the command line before PANDA_SERVER_* variables', async () => {
    const dir = await scratch.dir();
    const result = await runPandaServer(['--data-dir', join(dir, 'data'), '--port', '99999'], {
      PANDA_SERVER_PORT: '0',
    });
    expect([result.code, result.stderr]).toEqual([
      2,
      'panda-server: --port must be a whole number from 0 to 65535 (0 picks a free port)\n',
    ]);
    const fromEnv = await runPandaServer(['--data-dir', join(dir, 'data')], { PANDA_SERVER_PORT: '70000' });
    expect(fromEnv.code).toBe(2);
  });
});
