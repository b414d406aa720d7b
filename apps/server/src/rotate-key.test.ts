import { afterAll, describe, expect, it } from '@jest/globals';
import { ApiPath } from '@panda-secrets/protocol';
import { callApi, createTestDatabase, runCli, startServer, type RunningServer } from '@panda-secrets/testkit';

const database = await createTestDatabase('panda_rotate');

const started: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
  await database?.drop();
});

const call = callApi;

const HOT_KEYS = 60;
const WRITERS = 4;

/**
 * Sets many keys over and over through the HTTP API while `panda-server rotate-key` runs as its own
 * process, then reads every key back: each must hold the last value the server acknowledged.
 */
async function rotateUnderWrites(storeArgs: readonly string[]): Promise<void> {
  // Thousands of sets by one user in well under a minute: the per-user rate limit is lifted.
  const server = await startServer({ sharedArgs: storeArgs, args: ['--rate-limit', '1000000'] });
  started.push(server);
  const [alice, ballast] = [await server.token('alice'), await server.token('ballast')];
  // Another user's data makes each pass of the rotation long enough for many writes to land in it.
  for (let index = 0; index < 300; index += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        call(server.url, ballast, ApiPath.setUserSecrets, {
          key: `BALLAST_${index + n}`,
          value: `${index + n}-`.padEnd(40_000, 'x'),
        }),
      ),
    );
  }

  const acknowledged = new Map<string, string>();
  let writes = 0;
  let writesDuringRotation = 0;
  let rotating = true;
  const writer = async (first: number): Promise<void> => {
    // Each writer owns its keys, so the order of one key's writes is the order of their answers.
    for (let key = first, round = 0; round === 0 || rotating; key += WRITERS) {
      if (key >= HOT_KEYS) [key, round] = [first, round + 1];
      const value = `value-${(writes += 1)}`;
      const { status } = await call(server.url, alice, ApiPath.setUserSecrets, { key: `HOT_${key}`, value });
      expect(status).toBe(200);
      acknowledged.set(`HOT_${key}`, value);
      if (rotating) writesDuringRotation += 1;
    }
  };
  const writing = Array.from({ length: WRITERS }, (_, first) => writer(first));
  while (acknowledged.size < HOT_KEYS) await new Promise((resolve) => setTimeout(resolve, 20));

  const rotated = await runCli('panda-server', ['rotate-key', '--data-dir', server.dataDir, ...storeArgs], {
    timeoutMs: 120_000,
  });
  rotating = false;
  await Promise.all(writing);
  expect(rotated.code).toBe(0);
  expect(rotated.stdout).toMatch(/^re-encrypted \d+ secrets under key \S+\n$/);
  expect(writesDuringRotation).toBeGreaterThan(HOT_KEYS);

  const { status, json } = await call(server.url, alice, ApiPath.getUserSecrets);
  expect(status).toBe(200);
  expect(JSON.parse(json.data as string)).toEqual(Object.fromEntries(acknowledged));
  // The ballast was rotated and reads back whole.
  const ballastValues = JSON.parse(
    (await call(server.url, ballast, ApiPath.getUserSecrets)).json.data as string,
  ) as Record<string, string>;
  expect(Object.keys(ballastValues)).toHaveLength(300);
  expect(ballastValues.BALLAST_299).toBe('299-'.padEnd(40_000, 'x'));
}

describe('rotate-key beside a running server that takes writes', () => {
  it('loses no acknowledged write on SQLite', () => rotateUnderWrites([]), 180_000);

  (database === null ? it.skip : it)(
    'loses no acknowledged write on PostgreSQL',
    () => rotateUnderWrites(['--db', database!.url]),
    180_000,
  );
});
