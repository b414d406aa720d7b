import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PandaClient } from '@panda-secrets/client';
import {
  cleanEnv,
  createTestDatabase,
  queryDatabase,
  runCli,
  startServer,
  type RunningServer,
  type TestDatabase,
} from '@panda-secrets/testkit';

// Several panda-server instances on one PostgreSQL database, each with its own pilot.

const database = await createTestDatabase('panda_pilot');
const describePostgres = database === null ? describe.skip : describe;
const JOBS = 500;

describePostgres('two pilots, one per server instance, on one PostgreSQL database', () => {
  const servers: RunningServer[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilot-pg-'));
    const shared = [
      '--db',
      (database as TestDatabase).url,
      '--keyring-file',
      join(dir, 'keyring.json'),
      '--issuer-key-file',
      join(dir, 'issuer-key.json'),
    ];
    servers.push(await startServer({ sharedArgs: shared }));
    servers.push(await startServer({ sharedArgs: shared }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
    await database?.drop();
  });

  it(`drain ${JOBS} jobs, and each job runs exactly once with its secret`, async () => {
    const [first, second] = servers as [RunningServer, RunningServer];
    const alice = new PandaClient({ server: first.url, token: await first.token('alice') });
    await alice.setSecret('RACE_SECRET', 'race-secret-value');
    const ranFile = join(dir, 'ran.txt');
    const specs = Array.from({ length: JOBS }, (_, index) => ({
      exec: `test "$RACE_SECRET" = race-secret-value && echo ${index} >> ${ranFile} && echo ran-${index}`,
      outDS: 'user.alice.race',
      secrets: ['RACE_SECRET'],
    }));
    const { jobs } = await alice.submitJobs(specs);
    expect(jobs).toHaveLength(JOBS);

    const pilot = async (server: RunningServer, name: string) =>
      runCli(
        'panda-pilot',
        [
          '--server',
          server.url,
          '--token-file',
          await server.tokenFile(name, { role: 'pilot' }),
          '--exit-when-idle',
          '--poll',
          '1',
          '--workdir',
          join(dir, name),
        ],
        { env: cleanEnv(), timeoutMs: 240_000 },
      );
    const results = await Promise.all([pilot(first, 'pilot-a'), pilot(second, 'pilot-b')]);
    expect(results.map((result) => [result.code, result.signal])).toEqual([
      [0, null],
      [0, null],
    ]);

    const ran = (await readFile(ranFile, 'utf8'))
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b);
    expect(ran).toEqual(Array.from({ length: JOBS }, (_, index) => index));

    const url = (database as TestDatabase).url;
    expect(
      await queryDatabase(url, 'SELECT state, exit_code, count(*) AS n FROM jobs GROUP BY state, exit_code'),
    ).toEqual([{ state: 'finished', exit_code: 0, n: String(JOBS) }]);
    const audit = await queryDatabase(
      url,
      "SELECT count(*) AS n, count(DISTINCT job_id) AS jobs FROM audit WHERE action = 'job_secrets'",
    );
    expect(audit).toEqual([{ n: String(JOBS), jobs: String(JOBS) }]);
    const log = await alice.getJobLog(jobs[123]?.id ?? '');
    expect(log).toMatchObject({ state: 'finished', log: 'ran-123\n' });
  }, 300_000);
});
