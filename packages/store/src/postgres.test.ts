import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createTestDatabase, startPrivateCluster } from '@panda-secrets/testkit';
import type { TestDatabase } from '@panda-secrets/testkit';
import pg from 'pg';
import { createStore } from './create-store.js';
import { OWNER_LOCK_NAMESPACE, createPostgresStore, migratePostgres } from './postgres.js';
import { POSTGRES_MIGRATIONS, applyMigrations } from './postgres-migrations.js';
import {
  describeStoreConformance,
  expectEachJobClaimedOnce,
  fakeCiphertext,
  testClock,
} from './testing/conformance.js';
import type { Store } from './types.js';

// One fresh database for this file; null (after one line saying why) when PostgreSQL is not
// running outside CI. Under CI it throws, so the file fails instead of skipping.
const database = await createTestDatabase();

if (database === null) {
  it.skip('PostgreSQL store (PostgreSQL is unreachable)', () => undefined);
} else {
  describePostgres(database);
}

/** A TCP relay to PostgreSQL that a test can cut (closing every connection) and restore. */
async function startRelay(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let silent = false;
  let port = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        track(client);
        track(upstream);
        if (silent) return;
        client.pipe(upstream).on('close', () => client.destroy());
        upstream.pipe(client).on('close', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    async cut() {
      const closed = new Promise((resolve) => server!.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore() {
      silent = false;
      return listen();
    },
    /** From now on connections stay open but nothing crosses them: packets silently dropped. */
    silence() {
      silent = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
  };
}

function describePostgres(db: TestDatabase): void {
  const admin = new pg.Client({ connectionString: db.url });
  let opened: Store[] = [];
  const closeOpened = async () => {
    await Promise.all(opened.map((store) => store.close()));
    opened = [];
  };
  const open = async (options: Partial<Parameters<typeof createPostgresStore>[0]> = {}) => {
    const store = await createPostgresStore({ url: db.url, poolSize: 4, ...options });
    opened.push(store);
    return store;
  };
  const empty = () => admin.query('TRUNCATE secrets, jobs, tasks, attempts, log_chunks, audit, meta RESTART IDENTITY');

  beforeAll(async () => {
    await migratePostgres(db.url);
    await admin.connect();
  });

  afterAll(async () => {
    await closeOpened();
    await admin.end();
    await db.drop();
  });

  const dropAuditRefusal = 'DROP TRIGGER IF EXISTS refuse_audit ON audit; DROP FUNCTION IF EXISTS refuse_audit()';
  describeStoreConformance('PostgreSQL store', {
    reset: async () => {
      await admin.query(dropAuditRefusal);
      await empty();
    },
    open: (clock) => createPostgresStore({ ...clock, url: db.url, poolSize: 4 }),
    async refuseAudit() {
      await admin.query(`
        CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$;
        CREATE TRIGGER refuse_audit BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION refuse_audit()`);
      return async () => {
        await admin.query(dropAuditRefusal);
      };
    },
  });

  describe('PostgreSQL store: claims across instances', () => {
    beforeEach(empty);

    it('never hands one of 200 jobs to two instances racing with SKIP LOCKED', async () => {
      await expectEachJobClaimedOnce([await open(), await open()], 200);
    });
  });

  describe('PostgreSQL store: createStore', () => {
    beforeEach(empty);

    it.each(['postgres:', 'postgresql:'])('opens PostgreSQL for a %s URL, creating no file', async (scheme) => {
      const dataDir = join(tmpdir(), `panda-no-sqlite-${process.pid}`);
      const url = new URL(db.url);
      const store = await createStore({ db: `${scheme}${url.href.slice(url.protocol.length)}`, dataDir });
      opened.push(store);
      await store.setMeta('probe', scheme);
      expect(await admin.query('SELECT value FROM meta')).toMatchObject({ rows: [{ value: scheme }] });
      expect(existsSync(dataDir)).toBe(false);
    });
  });

  describe('PostgreSQL store: migrations', () => {
    const fresh: TestDatabase[] = [];
    const freshDatabase = async () => {
      const created = (await createTestDatabase())!;
      fresh.push(created);
      return created;
    };
    afterAll(async () => {
      await closeOpened();
      await Promise.all(fresh.map((d) => d.drop()));
    });

    it('applies each version once, also when two instances migrate at the same time', async () => {
      const { url } = await freshDatabase();
      const both = await Promise.all([migratePostgres(url), migratePostgres(url)]);
      expect(both.map((result) => result.applied).sort()).toEqual([[], [1, 2, 3, 4]]);
      expect(await migratePostgres(url)).toEqual({ applied: [] });
      const store = await open({ url });
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('upgrades a version 1 database with rows to the newest without losing any', async () => {
      const { url } = await freshDatabase();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        expect(await applyMigrations(client, POSTGRES_MIGRATIONS.slice(0, 1))).toEqual([1]);
        const at = new Date('2024-01-02T03:04:05.000Z');
        await client.query(
          `INSERT INTO secrets VALUES ('alice', 'TOKEN', $1, 'k1', 5, $2, $2), ('bob', '___file___:f', $3, 'k1', 9, $2, $2)`,
          [fakeCiphertext('a'), at, fakeCiphertext('b')],
        );
        await client.query(
          `INSERT INTO jobs (id, owner, spec, state, pilot, claim_id, log, created_at, updated_at)
           VALUES ('job-1', 'alice', '{"exec":"true","outDS":"o","secrets":["TOKEN"]}', 'running', 'p', 'c', 'log', $1, $1)`,
          [at],
        );
        await client.query(`INSERT INTO audit (at, actor, action, key) VALUES ($1, 'alice', 'set', 'TOKEN')`, [at]);
        await client.query(`INSERT INTO meta VALUES ('keyring-check', 'v')`);
      } finally {
        await client.end();
      }

      expect(await migratePostgres(url)).toEqual({ applied: [2, 3, 4] });

      const store = await open({ url, ...testClock() });
      expect((await store.allSecrets()).map((s) => [s.owner, s.key, s.ciphertext, s.size])).toEqual([
        ['alice', 'TOKEN', fakeCiphertext('a'), 5],
        ['bob', '___file___:f', fakeCiphertext('b'), 9],
      ]);
      const job = await store.getJob('job-1');
      expect(job).toMatchObject({
        state: 'running',
        pilot: 'p',
        claimId: 'c',
        jobIndex: 1,
        attemptNr: 1,
        logBytes: 3,
        leaseExpiresAt: new Date('2024-01-02T03:04:05.000Z'),
      });
      expect(await store.readJobLog('job-1', 0)).toEqual({ log: 'log', nextOffset: 3 });
      expect(await store.listTasks('alice')).toEqual([
        expect.objectContaining({ taskId: job!.taskId, exec: 'true', outDS: 'o', nJobs: 1 }),
      ]);
      // A task made after the upgrade takes the next number of the sequence.
      expect(
        (
          await store.createTask('alice', [{ exec: 'x', outDS: 'o', secrets: [] }], {
            maxUnfinishedJobs: 10,
            maxAttempts: 3,
          })
        ).taskId,
      ).toBe(job!.taskId + 1);
      await store.appendAudit({ actor: 'bob', action: 'delete', key: 'X', remote: '192.0.2.1' });
      expect((await store.listAudit()).map((r) => [r.actor, r.key, r.remote])).toEqual([
        ['alice', 'TOKEN', null],
        ['bob', 'X', '192.0.2.1'],
      ]);
      expect(await store.getMeta('keyring-check')).toBe('v');
      // The job left running by the old schema has no lease to renew: it is queued again as attempt 2.
      expect(await store.expireLeases()).toBe(1);
      const [again] = await store.claimJobsWithSecrets('p2', 5, 60_000, null);
      expect(again?.job).toMatchObject({ id: 'job-1', attemptNr: 2 });
      // Rows from before revisions exist can be rotated, and a write after the read still wins.
      const [alice, bob] = await store.allSecrets();
      expect([alice!.revision, bob!.revision]).toEqual(['', '']);
      await store.putSecret(
        { owner: 'bob', key: '___file___:f', ciphertext: fakeCiphertext('new'), keyId: 'k1', size: 3 },
        { maxSecrets: 9, maxTotalBytes: 99 },
        { actor: 'bob', action: 'set', key: '___file___:f' },
      );
      const rotate = (s: typeof alice) => ({
        owner: s!.owner,
        key: s!.key,
        ciphertext: fakeCiphertext('rotated'),
        keyId: 'k2',
        revision: s!.revision,
      });
      expect(await store.replaceCiphertexts([rotate(alice), rotate(bob)])).toBe(1);
      expect((await store.allSecrets()).map((s) => [s.key, s.ciphertext])).toEqual([
        ['TOKEN', fakeCiphertext('rotated')],
        ['___file___:f', fakeCiphertext('new')],
      ]);
    });
  });

  describe('PostgreSQL store: availability', () => {
    const unavailable = { name: 'PandaError', code: 'UNAVAILABLE' };

    it('reports a database it cannot reach as UNAVAILABLE', async () => {
      const nowhere = 'postgres://postgres@127.0.0.1:1/panda';
      await expect(createPostgresStore({ url: nowhere })).rejects.toMatchObject({
        ...unavailable,
        message: 'the database is unavailable: connection refused (PostgreSQL at 127.0.0.1:1)',
      });
      await expect(migratePostgres(nowhere)).rejects.toMatchObject(unavailable);
    });

    it("keeps calls that wait longer than the connect timeout for a busy pool's free client, not UNAVAILABLE", async () => {
      const store = await open({ url: db.url, poolSize: 1 });
      const quota = { maxSecrets: 10, maxTotalBytes: 1000 };
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [OWNER_LOCK_NAMESPACE, 'busy']);
        // The pool's one client waits at the owner lock; the calls behind it wait for that client.
        const held = store.putSecret(
          { owner: 'busy', key: 'A', ciphertext: fakeCiphertext('a'), keyId: 'k1', size: 1 },
          quota,
          { actor: 'busy', action: 'set', key: 'A' },
        );
        const queued = [store.getSecrets('busy'), store.ping(), store.getSecrets('other')];
        // Longer than the 2 s a new connection may take: the wait for a free client is no connection failure.
        await new Promise((resolve) => setTimeout(resolve, 2500));
        await holder.query('SELECT pg_advisory_unlock($1, hashtext($2))', [OWNER_LOCK_NAMESPACE, 'busy']);
        await held;
        const [busy, , other] = await Promise.all(queued);
        // One client, taken in turn: the read queued after the write sees it.
        expect((busy as Array<{ key: string }>).map((secret) => secret.key)).toEqual(['A']);
        expect(other).toEqual([]);
      } finally {
        await holder.end();
        await store.close();
      }
    });

    /** Polls until `condition` holds; the test's timeout bounds it. */
    async function until(condition: () => Promise<boolean>): Promise<void> {
      while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
    }

    /**
     * Cuts the database off under a store with idle connections and one transaction in flight
     * (held at the owner lock by a direct connection), then brings it back: every call in between
     * answers UNAVAILABLE, nothing crashes or commits half-way, and the same store works afterwards.
     */
    async function expectOutageAndRecovery(
      url: string,
      directUrl: string,
      outage: { cut(): Promise<void>; restore(): Promise<void> },
    ) {
      const store = await open({ url, poolSize: 6 });
      const quota = { maxSecrets: 10, maxTotalBytes: 1000 };
      const input = { owner: 'outage', key: 'A', ciphertext: fakeCiphertext('a'), keyId: 'k1', size: 1 };
      const set = (key: string) => store.putSecret({ ...input, key }, quota, { actor: 'outage', action: 'set', key });
      await set('A');
      await Promise.all([store.ping(), store.ping(), store.ping(), store.ping()]);

      const holder = new pg.Client({ connectionString: directUrl });
      holder.on('error', () => undefined);
      await holder.connect();
      await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [OWNER_LOCK_NAMESPACE, 'outage']);
      const inFlight = set('IN_FLIGHT');
      await until(async () => {
        const { rows } = await holder.query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'",
        );
        return rows.length === 1;
      });

      await outage.cut();
      await holder.end().catch(() => undefined);
      const attempts = [
        () => inFlight,
        () => store.ping(),
        () => store.getSecrets('outage'),
        () => set('B'),
        () => store.claimJobsWithSecrets('pilot', 1, 60_000, null),
        () => store.ping(),
      ];
      // One after another, so connections left idle meet the outage while idle, too.
      for (const attempt of attempts) {
        await expect(attempt()).rejects.toMatchObject({
          ...unavailable,
          message: expect.stringMatching(
            /^the database is unavailable: (connection refused|connection terminated|connection lost|the server was shut down) \(PostgreSQL at 127\.0\.0\.1:\d+\)$/,
          ),
        });
      }

      await outage.restore();
      await store.ping();
      expect((await store.getSecrets('outage')).map((s) => s.key)).toEqual(['A']);
      await store.close();
    }

    it('answers UNAVAILABLE while the connection is cut and works again once it is back', async () => {
      const relay = await startRelay(new URL(db.url));
      try {
        await expectOutageAndRecovery(relay.url, db.url, relay);
      } finally {
        await relay.cut();
      }
    });

    it('fails a query as UNAVAILABLE when the network drops packets silently, then heals', async () => {
      const relay = await startRelay(new URL(db.url));
      try {
        const store = await open({ url: relay.url, queryTimeoutMs: 500 });
        await store.ping();
        relay.silence();
        await expect(store.getSecrets('silent')).rejects.toMatchObject({
          code: 'UNAVAILABLE',
          message: expect.stringMatching(
            /^the database is unavailable: no answer within the query timeout \(PostgreSQL at 127\.0\.0\.1:\d+\)$/,
          ),
        });
        await relay.cut();
        await relay.restore();
        await store.putSecret(
          { owner: 'silent', key: 'A', ciphertext: 'c', keyId: 'k', size: 1 },
          { maxSecrets: 10, maxTotalBytes: 100 },
          { actor: 'silent', action: 'set', key: 'A' },
        );
        expect((await store.getSecrets('silent')).map((secret) => secret.key)).toEqual(['A']);
      } finally {
        await relay.cut();
      }
    });

    it('answers UNAVAILABLE while PostgreSQL is shut down and works again once it is restarted', async () => {
      const cluster = await startPrivateCluster();
      try {
        await expectOutageAndRecovery(cluster.url, cluster.url, {
          cut: () => cluster.stop(),
          restore: () => cluster.start(),
        });
      } finally {
        await cluster.destroy();
      }
    });
  });
}
