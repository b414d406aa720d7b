import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiPath } from '@panda-secrets/protocol';
import pRetry from 'p-retry';
import {
  cleanEnv,
  createTestDatabase,
  runCli,
  startPrivateCluster,
  startServer,
  type PrivateCluster,
  type RunningServer,
  type TestDatabase,
} from '@panda-secrets/testkit';

const database = await createTestDatabase('panda_server');
const describePostgres = database === null ? describe.skip : describe;

async function call(url: string, token: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, json: await response.json() };
}

/** What a call answers while the database is away: tried again, unlike a failure of the call itself. */
class DatabaseAway extends Error {}

/**
 * Makes a call until it is answered 200, as it is again once the database is back: 60 tries, 500 ms
 * apart. Any other failure (the server itself unreachable) ends the tries at once.
 */
function callOnceBack(
  url: string,
  token: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  return pRetry(
    async () => {
      const answer = await call(url, token, path, body);
      if (answer.status !== 200) throw new DatabaseAway(`${path} answered ${answer.status}: ${answer.json?.message}`);
      return answer;
    },
    { retries: 59, factor: 1, minTimeout: 500, shouldRetry: (error) => error instanceof DatabaseAway },
  );
}

async function secretsOf(url: string, token: string): Promise<Record<string, string>> {
  const { status, json } = await call(url, token, ApiPath.getUserSecrets);
  expect(status).toBe(200);
  return JSON.parse(json.data as string) as Record<string, string>;
}

/** Options every instance of one deployment shares: the database, key ring and issuer key. */
async function sharedDeployment(db: string): Promise<string[]> {
  const shared = await mkdtemp(join(tmpdir(), 'panda-shared-'));
  return [
    '--db',
    db,
    '--keyring-file',
    join(shared, 'keyring.json'),
    '--issuer-key-file',
    join(shared, 'issuer-key.json'),
  ];
}

describePostgres('two panda-server instances on one PostgreSQL database', () => {
  const servers: RunningServer[] = [];
  beforeAll(async () => {
    const shared = await sharedDeployment((database as TestDatabase).url);
    // Both start at once, as instances of one deployment do; each that started is stopped afterwards.
    const starts = await Promise.allSettled([startServer({ sharedArgs: shared }), startServer({ sharedArgs: shared })]);
    for (const start of starts) if (start.status === 'fulfilled') servers.push(start.value);
    const failed = starts.find((start): start is PromiseRejectedResult => start.status === 'rejected');
    if (failed) throw failed.reason;
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await database?.drop();
  });

  it('reads through one what was set through the other', async () => {
    const [first, second] = servers as [RunningServer, RunningServer];
    const token = await first.token('alice');
    expect(
      (await call(first.url, token, ApiPath.setUserSecrets, { key: 'SHARED', value: 'set-on-first' })).status,
    ).toBe(200);
    expect(await secretsOf(second.url, token)).toEqual({ SHARED: 'set-on-first' });
    expect((await call(second.url, token, ApiPath.setUserSecrets, { key: 'SHARED', value: null })).status).toBe(200);
    expect(await secretsOf(first.url, token)).toEqual({});
  });
});

describePostgres('PostgreSQL going away under a running server', () => {
  let cluster: PrivateCluster;
  let server: RunningServer;
  beforeAll(async () => {
    cluster = await startPrivateCluster();
    server = await startServer({ sharedArgs: await sharedDeployment(cluster.url) });
  });
  afterAll(async () => {
    await server?.stop();
    await cluster?.destroy();
  });

  it('answers 503 while it is down, recovers by itself, and loses no acknowledged write', async () => {
    const token = await server.token('alice');
    const acknowledged: Record<string, string> = {};
    for (let index = 0; index < 20; index += 1) {
      const { status } = await call(server.url, token, ApiPath.setUserSecrets, {
        key: `BEFORE_${index}`,
        value: `v${index}`,
      });
      if (status === 200) acknowledged[`BEFORE_${index}`] = `v${index}`;
    }
    expect(Object.keys(acknowledged)).toHaveLength(20);

    await cluster.stop();
    const down = await call(server.url, token, ApiPath.setUserSecrets, { key: 'DURING', value: 'lost' });
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({
      success: false,
      code: 'UNAVAILABLE',
      message: expect.stringContaining('database is unavailable'),
    });
    expect((await call(server.url, token, ApiPath.getUserSecrets)).status).toBe(503);
    expect((await fetch(`${server.url}${ApiPath.health}`)).status).toBe(503);
    expect(server.process.exitCode).toBeNull();

    await cluster.start();
    const recovered = await callOnceBack(server.url, token, ApiPath.setUserSecrets, { key: 'AFTER', value: 'after' });
    expect(recovered.status).toBe(200);
    expect(await secretsOf(server.url, token)).toEqual({ ...acknowledged, AFTER: 'after' });
  });

  it('leaves an import whole or absent when the database stops while it runs', async () => {
    const token = await server.token('importer');
    const secrets = Array.from({ length: 400 }, (_, index) => ({
      key: `IMPORTED_${index}`,
      value: `${index}-`.padEnd(20_000, 'x'),
    }));
    // The stop races the import: whichever wins, the batch must be all there or not there at all.
    const importing = call(server.url, token, ApiPath.importSecrets, { secrets }).catch(() => ({
      status: 0,
      json: null,
    }));
    await cluster.stop();
    const { status } = await importing;
    await cluster.start();
    const answer = await callOnceBack(server.url, token, ApiPath.getUserSecrets);
    const keys = Object.keys(JSON.parse(answer.json.data as string) as Record<string, string>);
    expect(keys.length === 0 || keys.length === secrets.length).toBe(true);
    // An acknowledged import is all there (a failure reported while the commit landed may leave it whole too).
    if (status === 200) expect(keys).toHaveLength(secrets.length);
  }, 120_000);
});

describePostgres('panda-server migrate', () => {
  it('applies the migrations once, from --db or PANDA_SERVER_DB, and is idempotent', async () => {
    const fresh = await createTestDatabase('panda_migrate');
    try {
      const first = await runCli('panda-server', ['migrate', '--db', (fresh as TestDatabase).url]);
      expect([first.code, first.stdout, first.stderr]).toEqual([0, 'applied migrations 1, 2, 3, 4\n', '']);
      const again = await runCli('panda-server', ['migrate'], {
        env: cleanEnv({ PANDA_SERVER_DB: (fresh as TestDatabase).url }),
      });
      expect([again.code, again.stdout]).toEqual([0, 'the schema is up to date\n']);
    } finally {
      await fresh?.drop();
    }
  });

  it('says clearly when the database cannot be reached', async () => {
    const result = await runCli('panda-server', ['migrate', '--db', 'postgres://postgres@127.0.0.1:9/none']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^panda-server: the database is unavailable: connection refused \(PostgreSQL at 127\.0\.0\.1:9\)\n$/,
    );
  });
});
