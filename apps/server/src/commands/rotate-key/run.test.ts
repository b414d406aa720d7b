import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { generatePilotKeyPair, openBundle } from '@panda-secrets/crypto';
import { ApiPath, type AcquiredJob } from '@panda-secrets/protocol';
import { callApi } from '@panda-secrets/testkit';
import { runPandaServer, serverDeps, testScratch, secretsOf } from '../../testing/commands.js';
import { runRotateKey } from './run.js';

const scratch = testScratch('panda-rotate-');
afterAll(() => scratch.cleanUp());

describe('panda-server rotate-key', () => {
  it('keeps values across a restart and through rotate-key', async () => {
    const dataDir = await scratch.dir();
    const first = await scratch.serve(dataDir);
    const token = await first.token('alice');
    for (let index = 0; index < 5; index += 1) {
      expect(
        (await callApi(first.url, token, ApiPath.setUserSecrets, { key: `KEY_${index}`, value: `value-${index}` }))
          .status,
      ).toBe(200);
    }
    await first.stop();
    const rotated = await runPandaServer(['rotate-key', '--data-dir', dataDir]);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^re-encrypted 5 secrets under key \S+\n$/);
    const keyring = JSON.parse(await readFile(join(dataDir, 'keyring.json'), 'utf8')) as { keys: unknown[] };
    expect(keyring.keys).toHaveLength(2);

    const second = await scratch.serve(dataDir);
    const expected = Object.fromEntries(Array.from({ length: 5 }, (_, index) => [`KEY_${index}`, `value-${index}`]));
    expect(await secretsOf(second.url, token)).toEqual(expected);
  });

  it('keeps serving every secret, and sealing jobs, when rotate-key runs beside it', async () => {
    const server = await scratch.serve(await scratch.dir());
    const token = await server.token('alice');
    const expected: Record<string, string> = {};
    for (let index = 0; index < 8; index += 1) {
      expected[`ROTATED_${index}`] = `rotated-value-${index}`;
      await callApi(server.url, token, ApiPath.setUserSecrets, {
        key: `ROTATED_${index}`,
        value: `rotated-value-${index}`,
      });
    }
    const submitted = await callApi(server.url, token, ApiPath.submitJobs, {
      jobs: [{ exec: 'true', outDS: 'ds', secrets: Object.keys(expected) }],
    });
    const jobId = submitted.json.data.jobs[0].id as string;

    const { deps, stdout } = serverDeps();
    await runRotateKey(deps, {}, { dataDir: server.dataDir });
    expect(stdout()).toMatch(/^re-encrypted 8 secrets under key /);
    expect(await secretsOf(server.url, token)).toEqual(expected);

    await runRotateKey(deps, {}, { dataDir: server.dataDir });
    const keys = await generatePilotKeyPair();
    const acquired = await callApi(server.url, await server.token('pilot-1', 'pilot'), ApiPath.acquireJobs, {
      publicKey: keys.publicJwk,
    });
    expect(acquired.status).toBe(200);
    const [job] = acquired.json.data.jobs as AcquiredJob[];
    expect((await openBundle(keys.privateKey, job?.bundle ?? '', jobId)).env).toEqual(expected);
  });

  it('refuses to rotate where there is no key ring or database, creating nothing', async () => {
    const dir = join(await scratch.dir(), 'typo');
    const result = await runPandaServer(['rotate-key', '--data-dir', dir]);
    expect([result.code, result.stdout]).toEqual([1, '']);
    expect(result.stderr).toContain(`there is no key ring at ${join(dir, 'keyring.json')}: nothing to rotate`);
    await expect(readFile(join(dir, 'panda.db'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a key ring given in the environment, which it could not write back', async () => {
    const dataDir = await scratch.dir();
    await (await scratch.serve(dataDir)).stop();
    const keyring = await readFile(join(dataDir, 'keyring.json'), 'utf8');
    const { deps } = serverDeps({ PANDA_SERVER_KEYRING: keyring });
    await expect(runRotateKey(deps, {}, { dataDir })).rejects.toMatchObject({
      code: 'CONFIG',
      message:
        'rotate-key writes the new key ring to a file; the key ring comes from the PANDA_SERVER_KEYRING environment variable: use --keyring-file',
    });
  });
});
