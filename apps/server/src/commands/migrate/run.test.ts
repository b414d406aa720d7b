import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase } from '@panda-secrets/testkit';
import { runPandaServer, serverDeps, testScratch } from '../../testing/commands.js';
import { runMigrate } from './run.js';

const database = await createTestDatabase('panda_migrate_run');
const describePostgres = database === null ? describe.skip : describe;

const scratch = testScratch('panda-migrate-');
afterAll(() => scratch.cleanUp());

describe('panda-server migrate', () => {
  it('brings a SQLite database in the data dir up to date, making it if need be', async () => {
    const dir = await scratch.dir();
    const { deps, stdout, stderr } = serverDeps();
    await runMigrate(deps, {}, { dataDir: dir });
    await runMigrate(deps, {}, { dataDir: dir });
    expect([stdout(), stderr()]).toEqual(['the SQLite schema is up to date\nthe SQLite schema is up to date\n', '']);
    expect(await readdir(dir)).toContain('panda.db');
  });

  it('says clearly when the database cannot be reached', async () => {
    const result = await runPandaServer(['migrate', '--db', 'postgres://postgres@127.0.0.1:9/none']);
    expect([result.code, result.stdout]).toEqual([1, '']);
    expect(result.stderr).toBe(
      'panda-server: the database is unavailable: connection refused (PostgreSQL at 127.0.0.1:9)\n',
    );
  });
});

describePostgres('panda-server migrate on PostgreSQL', () => {
  it('applies the migrations once, from --db or PANDA_SERVER_DB, and then has nothing to do', async () => {
    const url = database?.url ?? '';
    const first = await runPandaServer(['migrate', '--db', url]);
    expect([first.code, first.stdout, first.stderr]).toEqual([0, 'applied migrations 1, 2, 3, 4\n', '']);
    const again = await runPandaServer(['migrate'], { PANDA_SERVER_DB: url, PANDA_SERVER_PORT: '0' });
    expect([again.code, again.stdout, again.stderr]).toEqual([0, 'the schema is up to date\n', '']);
  });
});
