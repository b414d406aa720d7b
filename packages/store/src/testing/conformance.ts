import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@panda-secrets/protocol';
import { pandaErrorOf } from '@panda-secrets/testkit/unit';
import type { StoreClock } from '../rules.js';
import type { AuditInput, JobLimits, JobRow, PutSecretInput, Quota, Store } from '../types.js';

/** A database the suite can empty and open stores on. */
export interface StoreTarget {
  /** Empties the database that the following `open` calls share. */
  reset(): Promise<void>;
  /** Opens a store with its own connection (or pool) on the current database. */
  open(clock: Required<StoreClock>): Promise<Store>;
  /**
   * Makes every insert into the audit table fail (a trigger) until the returned function is
   * called: a change whose audit entry cannot be written must then leave nothing behind.
   */
  refuseAudit(): Promise<() => Promise<void>>;
}

/** A clock that moves only when told, and ids that count: tests assert exact times and ids. */
export function testClock(start = '2024-05-01T10:00:00.000Z') {
  let time = Date.parse(start);
  let ids = 0;
  return {
    now: () => new Date(time),
    newId: () => `id-${String(++ids).padStart(4, '0')}`,
    advance(ms: number) {
      time += ms;
    },
    set(iso: string) {
      time = Date.parse(iso);
    },
  };
}

const ROOMY: Quota = { maxSecrets: 500, maxTotalBytes: 50 * 1024 * 1024 };

/** A ciphertext-looking value; the suite checks it is stored and returned exactly as given. */
export function fakeCiphertext(label: string): string {
  return `eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..${label}.CIPHERTEXT-${label}.TAG`;
}

function secret(owner: string, key: string, size = 10, label = `${owner}-${key}`): PutSecretInput {
  return { owner, key, ciphertext: fakeCiphertext(label), keyId: 'k1', size };
}

function audit(actor: string, action: AuditInput['action'], key: string | null): AuditInput {
  return { actor, action, key, remote: '192.0.2.7', jobId: null };
}

function spec(n: number): JobSpec {
  return { exec: `echo ${n}`, outDS: `user.alice.out${n}`, secrets: n % 2 ? ['TOKEN'] : [] };
}

const LIMITS: JobLimits = { maxUnfinishedJobs: 10_000, maxAttempts: 3 };
const LEASE_MS = 60_000;

/** Submits one task of the given specs for `owner`; returns its jobs. */
async function createJobs(
  store: Store,
  owner: string,
  specs: JobSpec[],
  limits: JobLimits = LIMITS,
): Promise<JobRow[]> {
  return (await store.createTask(owner, specs, limits)).jobs;
}

/** Claims up to `limit` jobs for `pilot` as the server does, with their secrets; returns the jobs. */
async function claimJobs(store: Store, pilot: string, limit: number): Promise<JobRow[]> {
  return (await store.claimJobsWithSecrets(pilot, limit, LEASE_MS, null)).map(({ job }) => job);
}

async function put(store: Store, input: PutSecretInput, quota: Quota = ROOMY): Promise<void> {
  await store.putSecret(input, quota, audit(input.owner, 'set', input.key));
}

/**
 * Creates `jobCount` jobs, lets every store claim in small batches at the same time until none is
 * left, and checks each job went to exactly one claimer, marked with that claimer's pilot. Returns
 * the claimed jobs.
 */
export async function expectEachJobClaimedOnce(stores: readonly Store[], jobCount: number): Promise<JobRow[]> {
  const created = await createJobs(
    stores[0]!,
    'alice',
    Array.from({ length: jobCount }, (_, n) => spec(n)),
  );
  const claims = await Promise.all(
    stores.map(async (store, n) => {
      const pilot = `pilot-${n}`;
      const claimed: JobRow[] = [];
      for (;;) {
        const batch = await claimJobs(store, pilot, 3);
        if (batch.length === 0) return claimed;
        for (const job of batch) {
          expect(job).toMatchObject({ state: 'running', pilot });
          claimed.push(job);
        }
      }
    }),
  );
  const claimed = claims.flat();
  expect(claimed.map((job) => job.id).sort()).toEqual(created.map((job) => job.id).sort());
  expect(await claimJobs(stores[0]!, 'late-pilot', jobCount)).toEqual([]);
  return claimed;
}

/** The behaviour every Store adapter must have, run against a real database. */
export function describeStoreConformance(name: string, target: StoreTarget): void {
  describe(`${name}: conformance`, () => {
    let clock: ReturnType<typeof testClock>;
    let opened: Store[] = [];
    let store: Store;

    async function open(): Promise<Store> {
      const next = await target.open(clock);
      opened.push(next);
      return next;
    }

    beforeEach(async () => {
      await target.reset();
      clock = testClock();
      store = await open();
    });

    afterEach(async () => {
      await Promise.all(opened.map((s) => s.close()));
      opened = [];
    });

    describe('secrets', () => {
      it('stores a secret exactly as given', async () => {
        await put(store, secret('alice', 'TOKEN', 12));
        expect(await store.getSecrets('alice')).toEqual([
          {
            owner: 'alice',
            key: 'TOKEN',
            ciphertext: fakeCiphertext('alice-TOKEN'),
            keyId: 'k1',
            size: 12,
            createdAt: new Date('2024-05-01T10:00:00.000Z'),
            updatedAt: new Date('2024-05-01T10:00:00.000Z'),
            revision: expect.stringMatching(/^[0-9a-f-]{36}$/),
          },
        ]);
      });

      it('replaces on a second put, keeping createdAt and moving updatedAt', async () => {
        await put(store, secret('alice', 'TOKEN', 12));
        clock.advance(60_000);
        await put(store, { ...secret('alice', 'TOKEN', 30, 'second'), keyId: 'k2' });
        expect(await store.getSecrets('alice')).toEqual([
          {
            owner: 'alice',
            key: 'TOKEN',
            ciphertext: fakeCiphertext('second'),
            keyId: 'k2',
            size: 30,
            createdAt: new Date('2024-05-01T10:00:00.000Z'),
            updatedAt: new Date('2024-05-01T10:01:00.000Z'),
            revision: expect.stringMatching(/^[0-9a-f-]{36}$/),
          },
        ]);
      });

      it('reads the same secrets as getSecrets, in its order, with only what decrypting them takes', async () => {
        for (const key of ['b', '___file___:z.txt', 'B', 'a']) await put(store, secret('alice', key, key.length));
        await put(store, secret('bob', 'a'));
        const ciphertexts = async (only?: string[]) =>
          (await store.getSecrets('alice', only)).map(({ owner, key, ciphertext, size }) => ({
            owner,
            key,
            ciphertext,
            size,
          }));
        expect(await store.getCiphertexts('alice')).toEqual(await ciphertexts());
        expect((await store.getCiphertexts('alice')).map((s) => s.key)).toEqual(['B', '___file___:z.txt', 'a', 'b']);
        expect(await store.getCiphertexts('alice', ['b', 'missing', 'B'])).toEqual(await ciphertexts(['b', 'B']));
        expect(await store.getCiphertexts('alice', [])).toEqual([]);
        expect(await store.getCiphertexts('carol')).toEqual([]);
      });

      it('lists by key in byte order, all or only the keys asked for', async () => {
        for (const key of ['b', '___file___:z.txt', 'B', '_a', 'a']) await put(store, secret('alice', key));
        const keys = async (only?: string[]) => (await store.getSecrets('alice', only)).map((s) => s.key);
        expect(await keys()).toEqual(['B', '___file___:z.txt', '_a', 'a', 'b']);
        expect(await keys(['b', 'missing', '___file___:z.txt'])).toEqual(['___file___:z.txt', 'b']);
        expect(await keys([])).toEqual([]);
      });

      it('keeps owners apart', async () => {
        await put(store, secret('alice', 'TOKEN'));
        await put(store, secret('bob', 'TOKEN', 5));
        await put(store, secret('bob', 'OTHER'));
        expect((await store.getSecrets('alice')).map((s) => [s.key, s.ciphertext])).toEqual([
          ['TOKEN', fakeCiphertext('alice-TOKEN')],
        ]);
        expect(await store.getSecrets('carol')).toEqual([]);
        expect(await store.deleteSecret('carol', 'TOKEN', audit('carol', 'delete', 'TOKEN'))).toBeNull();
        expect(await store.deleteAllSecrets('bob', audit('bob', 'delete_all', null))).toBe(2);
        expect((await store.getSecrets('alice')).map((s) => s.key)).toEqual(['TOKEN']);
      });

      it('deletes the key itself, else the file of that name, preferring the key', async () => {
        await put(store, secret('alice', 'cfg'));
        await put(store, secret('alice', '___file___:cfg'));
        await put(store, secret('alice', '___file___:only.dat'));
        const remove = (key: string) => store.deleteSecret('alice', key, audit('alice', 'delete', key));

        expect(await remove('cfg')).toBe('cfg');
        expect((await store.getSecrets('alice')).map((s) => s.key)).toEqual(['___file___:cfg', '___file___:only.dat']);
        expect(await remove('cfg')).toBe('___file___:cfg');
        expect(await remove('only.dat')).toBe('___file___:only.dat');
        expect(await store.getSecrets('alice')).toEqual([]);
      });

      it('deletes nothing and audits nothing when neither key exists', async () => {
        await put(store, secret('alice', 'KEEP'));
        const before = await store.listAudit();
        expect(await store.deleteSecret('alice', 'GONE', audit('alice', 'delete', 'GONE'))).toBeNull();
        expect(await store.listAudit()).toEqual(before);
        expect((await store.getSecrets('alice')).map((s) => s.key)).toEqual(['KEEP']);
      });

      it('deletes all of one owner, counting them', async () => {
        for (const key of ['A', 'B', '___file___:c']) await put(store, secret('alice', key));
        await put(store, secret('bob', 'A'));
        expect(await store.deleteAllSecrets('alice', audit('alice', 'delete_all', null))).toBe(3);
        expect(await store.getSecrets('alice')).toEqual([]);
        expect(await store.deleteAllSecrets('alice', audit('alice', 'delete_all', null))).toBe(0);
        expect((await store.getSecrets('bob')).map((s) => s.key)).toEqual(['A']);
      });

      it('lists every secret and rewrites ciphertexts for key rotation', async () => {
        await put(store, secret('bob', 'B'));
        await put(store, secret('alice', 'A'));
        await put(store, secret('alice', '___file___:f', 7));
        clock.advance(1000);
        const read = new Map((await store.allSecrets()).map((s) => [`${s.owner}/${s.key}`, s.revision]));
        const changed = await store.replaceCiphertexts([
          {
            owner: 'alice',
            key: 'A',
            ciphertext: fakeCiphertext('rotated-A'),
            keyId: 'k2',
            revision: read.get('alice/A')!,
          },
          {
            owner: 'bob',
            key: 'B',
            ciphertext: fakeCiphertext('rotated-B'),
            keyId: 'k2',
            revision: read.get('bob/B')!,
          },
          { owner: 'bob', key: 'MISSING', ciphertext: fakeCiphertext('none'), keyId: 'k2', revision: '' },
        ]);
        expect(changed).toBe(2);
        expect(await store.replaceCiphertexts([])).toBe(0);
        const all = await store.allSecrets();
        expect(all.map((s) => [s.owner, s.key, s.ciphertext, s.keyId, s.size])).toEqual([
          ['alice', 'A', fakeCiphertext('rotated-A'), 'k2', 10],
          ['alice', '___file___:f', fakeCiphertext('alice-___file___:f'), 'k1', 7],
          ['bob', 'B', fakeCiphertext('rotated-B'), 'k2', 10],
        ]);
        // Rotation re-encrypts the same value: the user's timestamps stay.
        expect(all.every((s) => s.updatedAt.getTime() === Date.parse('2024-05-01T10:00:00.000Z'))).toBe(true);
      });

      it('rewrites a ciphertext only at the revision that was read (compare-and-set)', async () => {
        await put(store, secret('alice', 'A', 10, 'v1'));
        await put(store, secret('alice', 'B', 10, 'b1'));
        await put(store, secret('alice', 'C', 10, 'c1'));
        const [a, b, c] = await store.allSecrets();
        expect(new Set([a!.revision, b!.revision, c!.revision]).size).toBe(3);
        // Written again after the read: A changed, B was deleted and set again with another value.
        await put(store, secret('alice', 'A', 11, 'v2'));
        await store.deleteSecret('alice', 'B', audit('alice', 'delete', 'B'));
        await put(store, secret('alice', 'B', 12, 'b2'));
        const changed = await store.replaceCiphertexts(
          [a!, b!, c!].map((s) => ({
            owner: s.owner,
            key: s.key,
            ciphertext: fakeCiphertext(`rotated-${s.key}`),
            keyId: 'k2',
            revision: s.revision,
          })),
        );
        expect(changed).toBe(1);
        const after = await store.getSecrets('alice');
        expect(after.map((s) => [s.key, s.ciphertext, s.keyId, s.size])).toEqual([
          ['A', fakeCiphertext('v2'), 'k1', 11],
          ['B', fakeCiphertext('b2'), 'k1', 12],
          ['C', fakeCiphertext('rotated-C'), 'k2', 10],
        ]);
        // The rewrite is itself a new revision: a second rewrite from the same read changes nothing.
        expect(after[2]!.revision).not.toBe(c!.revision);
        expect(
          await store.replaceCiphertexts([
            { owner: 'alice', key: 'C', ciphertext: fakeCiphertext('again'), keyId: 'k3', revision: c!.revision },
          ]),
        ).toBe(0);
      });

      it('keeps every one of 100 concurrent puts of distinct keys', async () => {
        const keys = Array.from({ length: 100 }, (_, n) => `KEY_${n}`);
        await Promise.all(keys.map((key) => put(store, secret('alice', key))));
        expect((await store.getSecrets('alice')).map((s) => s.key).sort()).toEqual([...keys].sort());
        expect((await store.listAudit({ actor: 'alice' })).length).toBe(100);
      });
    });

    describe('quotas', () => {
      it('caps the count, counting a replaced key once, and changes nothing on rejection', async () => {
        const quota = { maxSecrets: 2, maxTotalBytes: 1000 };
        await put(store, secret('alice', 'A'), quota);
        await put(store, secret('alice', 'B'), quota);
        await put(store, secret('bob', 'C'), quota);
        const before = { secrets: await store.allSecrets(), audit: await store.listAudit() };

        expect(await pandaErrorOf(put(store, secret('alice', 'C', 5), quota))).toMatchObject({
          code: 'QUOTA_EXCEEDED',
          message:
            'storing "C" (5 bytes) would make 3 secrets of 25 bytes in total; you have 2 other secrets of 20 bytes ' +
            'and the limits are 2 secrets and 1000 bytes per user: nothing was changed',
        });
        expect({ secrets: await store.allSecrets(), audit: await store.listAudit() }).toEqual(before);

        await put(store, secret('alice', 'A', 50, 'replaced'), quota);
        expect((await store.getSecrets('alice', ['A']))[0]?.ciphertext).toBe(fakeCiphertext('replaced'));
      });

      it('caps the total size, counting a replaced key once', async () => {
        const quota = { maxSecrets: 10, maxTotalBytes: 100 };
        await put(store, secret('alice', 'A', 60), quota);
        await pandaErrorOf(put(store, secret('alice', 'B', 41), quota), 'QUOTA_EXCEEDED');
        await put(store, secret('alice', 'B', 40), quota);
        await put(store, secret('alice', 'A', 60, 'same-size'), quota);
        await pandaErrorOf(put(store, secret('alice', 'A', 61, 'bigger'), quota), 'QUOTA_EXCEEDED');
        expect((await store.getSecrets('alice')).map((s) => [s.key, s.size, s.ciphertext])).toEqual([
          ['A', 60, fakeCiphertext('same-size')],
          ['B', 40, fakeCiphertext('alice-B')],
        ]);
      });

      it('answers each of concurrent puts for itself: a refused one fails alone and changes nothing', async () => {
        const quota = { maxSecrets: 2, maxTotalBytes: 1000 };
        const broken = { ...secret('bob', 'B'), ciphertext: null as unknown as string };
        const outcomes = await Promise.allSettled([
          put(store, secret('alice', 'A'), quota),
          put(store, secret('alice', 'B'), quota),
          put(store, secret('alice', 'C'), quota),
          put(store, broken, quota),
          put(store, secret('bob', 'A'), quota),
        ]);
        const reasons = outcomes.map((outcome) => (outcome.status === 'rejected' ? outcome.reason.code : null));
        // Which of alice's three comes last is up to the store (PostgreSQL runs them on several
        // connections): two are kept, the third is refused for the quota; bob's are answered alone.
        expect(reasons.slice(0, 3).filter((reason) => reason === null)).toHaveLength(2);
        expect(reasons.slice(0, 3).filter((reason) => reason !== null)).toEqual(['QUOTA_EXCEEDED']);
        expect(reasons.slice(3)).toEqual(['SERVER_ERROR', null]);
        const kept = ['A', 'B', 'C'].filter((_key, index) => reasons[index] === null).map((key) => `alice/${key}`);
        expect((await store.allSecrets()).map((s) => `${s.owner}/${s.key}`)).toEqual([...kept, 'bob/A']);
        // Concurrent writes may be recorded in any order (PostgreSQL runs them on several connections).
        expect((await store.listAudit()).map((entry) => `${entry.actor}/${entry.key}`).sort()).toEqual([
          ...kept,
          'bob/A',
        ]);
      });

      it('checks a batch as a whole and writes all of it or none of it', async () => {
        const quota = { maxSecrets: 3, maxTotalBytes: 1000 };
        await put(store, secret('alice', 'A', 10), quota);
        const before = { secrets: await store.allSecrets(), audit: await store.listAudit() };
        const batch = ['A', 'B', 'C', 'D'].map((key) => {
          const { owner: _owner, ...write } = secret('alice', key, 5, `batch-${key}`);
          return write;
        });
        expect(await pandaErrorOf(store.putSecrets('alice', batch, quota, audit('alice', 'set', null)))).toMatchObject({
          code: 'QUOTA_EXCEEDED',
          message:
            'storing these 4 secrets (20 bytes) would make 4 secrets of 20 bytes in total; you have 0 other secrets of 0 bytes ' +
            'and the limits are 3 secrets and 1000 bytes per user: nothing was changed',
        });
        expect({ secrets: await store.allSecrets(), audit: await store.listAudit() }).toEqual(before);

        // The database itself refuses the third row half-way through: the first two are not kept.
        const broken = [...batch.slice(0, 2), { ...batch[2]!, ciphertext: null as unknown as string }];
        await pandaErrorOf(store.putSecrets('alice', broken, quota, audit('alice', 'set', null)), 'SERVER_ERROR');
        expect({ secrets: await store.allSecrets(), audit: await store.listAudit() }).toEqual(before);

        clock.advance(1000);
        await store.putSecrets('alice', batch.slice(0, 3), quota, audit('alice', 'set', null));
        expect(
          (await store.getSecrets('alice')).map((s) => [s.key, s.size, s.ciphertext, s.updatedAt.toISOString()]),
        ).toEqual([
          ['A', 5, fakeCiphertext('batch-A'), '2024-05-01T10:00:01.000Z'],
          ['B', 5, fakeCiphertext('batch-B'), '2024-05-01T10:00:01.000Z'],
          ['C', 5, fakeCiphertext('batch-C'), '2024-05-01T10:00:01.000Z'],
        ]);
        expect((await store.listAudit({ actor: 'alice' })).map((entry) => [entry.action, entry.key])).toEqual([
          ['set', 'A'],
          ['set', 'A'],
          ['set', 'B'],
          ['set', 'C'],
        ]);
      });

      it('cannot be overrun by concurrent puts', async () => {
        const quota = { maxSecrets: 10, maxTotalBytes: 1000 };
        const results = await Promise.allSettled(
          Array.from({ length: 25 }, (_, n) => put(store, secret('alice', `K${n}`), quota)),
        );
        const refused = results.filter((r) => r.status === 'rejected');
        expect(results.length - refused.length).toBe(10);
        expect(refused.every((r) => (r.reason as { code?: string }).code === 'QUOTA_EXCEEDED')).toBe(true);
        expect((await store.getSecrets('alice')).length).toBe(10);
      });
    });

    describe('audit', () => {
      it('records who set and deleted which key, from where, never a value', async () => {
        await put(store, secret('alice', 'TOKEN'));
        clock.advance(1000);
        await store.deleteSecret('alice', 'TOKEN', audit('alice', 'delete', 'TOKEN'));
        await put(store, secret('alice', '___file___:f'));
        await store.deleteSecret('alice', 'f', audit('alice', 'delete', 'f'));
        await store.deleteAllSecrets('alice', audit('alice', 'delete_all', null));
        await store.appendAudit({
          actor: 'pilot-1',
          action: 'job_secrets',
          key: 'A,B',
          jobId: 'job-1',
          remote: '10.0.0.9',
        });
        await put(store, secret('bob', 'X'));

        const records = await store.listAudit();
        const at0 = new Date('2024-05-01T10:00:00.000Z');
        const at1 = new Date('2024-05-01T10:00:01.000Z');
        const entry = (at: Date, actor: string, action: string, key: string | null) => ({
          at,
          actor,
          action,
          key,
          jobId: null,
          remote: '192.0.2.7',
        });
        expect(records.map(({ id: _id, ...record }) => record)).toEqual([
          entry(at0, 'alice', 'set', 'TOKEN'),
          entry(at1, 'alice', 'delete', 'TOKEN'),
          entry(at1, 'alice', 'set', '___file___:f'),
          // The key actually deleted, after PanDA's fallback.
          entry(at1, 'alice', 'delete', '___file___:f'),
          entry(at1, 'alice', 'delete_all', null),
          { at: at1, actor: 'pilot-1', action: 'job_secrets', key: 'A,B', jobId: 'job-1', remote: '10.0.0.9' },
          entry(at1, 'bob', 'set', 'X'),
        ]);
        const ids = records.map((r) => r.id);
        expect([...ids].sort((a, b) => a - b)).toEqual(ids);
        expect(JSON.stringify(records)).not.toContain('CIPHERTEXT');

        expect((await store.listAudit({ actor: 'bob' })).map((r) => r.key)).toEqual(['X']);
        expect((await store.listAudit({ jobId: 'job-1' })).map((r) => r.actor)).toEqual(['pilot-1']);
        expect(await store.listAudit({ actor: 'alice', jobId: 'job-1' })).toEqual([]);
      });

      it('stores absent jobId and remote as null', async () => {
        await store.appendAudit({ actor: 'alice', action: 'set', key: 'K' });
        expect(await store.listAudit()).toEqual([
          {
            id: expect.any(Number),
            at: clock.now(),
            actor: 'alice',
            action: 'set',
            key: 'K',
            jobId: null,
            remote: null,
          },
        ]);
      });
    });

    describe('audit in the transaction of its change', () => {
      it('leaves nothing changed when the audit entry of a set, delete or claim cannot be written', async () => {
        await put(store, secret('alice', 'KEEP'));
        const [job] = await createJobs(store, 'alice', [{ exec: 'true', outDS: 'o', secrets: ['KEEP'] }]);
        const state = async () => ({
          secrets: await store.allSecrets(),
          audit: await store.listAudit(),
          job: await store.getJob(job!.id),
          task: await store.getTask('alice', job!.taskId),
        });
        const before = await state();
        const restore = await target.refuseAudit();
        try {
          clock.advance(1000);
          await pandaErrorOf(put(store, secret('alice', 'NEW')), 'SERVER_ERROR');
          await pandaErrorOf(put(store, secret('alice', 'KEEP', 20, 'replaced')), 'SERVER_ERROR');
          const batch = [secret('alice', 'A'), secret('alice', 'B')].map(({ owner: _owner, ...write }) => write);
          await pandaErrorOf(store.putSecrets('alice', batch, ROOMY, audit('alice', 'set', null)), 'SERVER_ERROR');
          await pandaErrorOf(store.deleteSecret('alice', 'KEEP', audit('alice', 'delete', 'KEEP')), 'SERVER_ERROR');
          await pandaErrorOf(store.deleteAllSecrets('alice', audit('alice', 'delete_all', null)), 'SERVER_ERROR');
          await pandaErrorOf(store.claimJobsWithSecrets('pilot-a', 1, LEASE_MS, '10.0.0.9'), 'SERVER_ERROR');
        } finally {
          await restore();
        }
        expect(await state()).toEqual(before);
        const [claimed] = await store.claimJobsWithSecrets('pilot-a', 1, LEASE_MS, '10.0.0.9');
        expect(claimed?.job).toMatchObject({ id: job!.id, state: 'running', attemptNr: 1 });
        expect((await store.listAudit({ jobId: job!.id })).map((entry) => entry.key)).toEqual(['KEEP']);
      });
    });

    describe('jobs', () => {
      /** Creates one job and claims it for `pilot`. */
      async function running(pilot = 'pilot-a', limits: JobLimits = LIMITS): Promise<JobRow> {
        await createJobs(store, 'alice', [spec(1)], limits);
        const [job] = await claimJobs(store, pilot, 1);
        return job!;
      }

      const log = async (id: string, offset = 0) => (await store.readJobLog(id, offset)).log;

      it("counts an owner's unfinished jobs: queued and running, not ended", async () => {
        expect(await store.countUnfinishedJobs('alice')).toBe(0);
        await createJobs(store, 'alice', [spec(1), spec(2), spec(3)]);
        await createJobs(store, 'bob', [spec(4)]);
        const [claimed] = await claimJobs(store, 'pilot-a', 1);
        expect(await store.countUnfinishedJobs('alice')).toBe(3);
        await store.updateJob(claimed!.id, 'pilot-a', claimed!.claimId!, { state: 'finished', exitCode: 0 });
        expect(await store.countUnfinishedJobs('alice')).toBe(2);
        expect(await store.countUnfinishedJobs('bob')).toBe(1);
      });

      it('creates a task of queued jobs numbered from 1, task ids from one sequence, and reads them back', async () => {
        const first = await store.createTask('alice', [spec(1), spec(2)], LIMITS);
        const queued = (id: string, n: number, taskId: number, jobIndex: number) => ({
          id,
          owner: 'alice',
          taskId,
          jobIndex,
          spec: spec(n),
          state: 'queued',
          exitCode: null,
          attemptNr: 0,
          maxAttempts: 3,
          reason: null,
          pilot: null,
          claimId: null,
          leaseExpiresAt: null,
          logBytes: 0,
          createdAt: clock.now(),
          updatedAt: clock.now(),
        });
        expect(first.taskId).toBeGreaterThan(0);
        expect(first.jobs).toEqual([queued('id-0001', 1, first.taskId, 1), queued('id-0002', 2, first.taskId, 2)]);
        const second = await store.createTask('bob', [spec(3)], { ...LIMITS, maxAttempts: 5 });
        expect(second.taskId).toBe(first.taskId + 1);
        expect(second.jobs[0]).toMatchObject({ taskId: second.taskId, jobIndex: 1, maxAttempts: 5, owner: 'bob' });
        expect(await store.getJob('id-0002')).toEqual(queued('id-0002', 2, first.taskId, 2));
        expect(await store.getTaskJob('alice', first.taskId, 2)).toEqual(queued('id-0002', 2, first.taskId, 2));
        expect(await store.getTaskJob('bob', first.taskId, 2)).toBeNull();
        expect(await store.getTaskJob('alice', first.taskId, 3)).toBeNull();
        expect(await store.getJob('nope')).toBeNull();
        await pandaErrorOf(store.createTask('alice', [], LIMITS), 'INVALID_INPUT');
      });

      it('refuses a task that would take the owner past the job cap, creating nothing', async () => {
        const limits = { maxUnfinishedJobs: 3, maxAttempts: 3 };
        await createJobs(store, 'alice', [spec(1), spec(2)], limits);
        expect(await pandaErrorOf(store.createTask('alice', [spec(3), spec(4)], limits))).toMatchObject({
          code: 'QUOTA_EXCEEDED',
          message:
            'you have 2 unfinished jobs and submitted 2; the limit is 3 queued or running jobs per user: nothing was submitted',
        });
        expect(await store.listTasks('alice')).toHaveLength(1);
        await createJobs(store, 'bob', [spec(5), spec(6), spec(7)], limits);
        await createJobs(store, 'alice', [spec(3)], limits);
      });

      it('cannot be overrun by 8 concurrent submissions of 10 under a cap of 10, from several connections', async () => {
        const limits = { maxUnfinishedJobs: 10, maxAttempts: 3 };
        const stores = [store, await open(), await open(), await open()];
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, n) =>
            stores[n % stores.length]!.createTask(
              'alice',
              Array.from({ length: 10 }, (_, j) => spec(j)),
              limits,
            ),
          ),
        );
        const accepted = results.filter((result) => result.status === 'fulfilled');
        expect(accepted).toHaveLength(1);
        expect(
          results
            .filter((result) => result.status === 'rejected')
            .map((result) => (result.reason as { code?: string }).code),
        ).toEqual(Array(7).fill('QUOTA_EXCEEDED'));
        expect(await store.countUnfinishedJobs('alice')).toBe(10);
      });

      it('claims the oldest first, up to the limit, each as a new attempt with a fresh claim id and a lease', async () => {
        clock.set('2024-05-01T12:00:00.000Z');
        const [late] = await createJobs(store, 'alice', [spec(1)]);
        clock.set('2024-05-01T11:00:00.000Z');
        const early = await createJobs(store, 'bob', [spec(2), spec(3), spec(4)]);
        clock.set('2024-05-01T13:00:00.000Z');

        const first = await claimJobs(store, 'pilot-a', 2);
        expect(first.map((job) => job.id)).toEqual([early[0]!.id, early[1]!.id]);
        for (const job of first) {
          expect(job).toMatchObject({
            state: 'running',
            pilot: 'pilot-a',
            attemptNr: 1,
            leaseExpiresAt: new Date(clock.now().getTime() + LEASE_MS),
            updatedAt: clock.now(),
          });
        }
        const second = await claimJobs(store, 'pilot-b', 5);
        expect(second.map((job) => job.id)).toEqual([early[2]!.id, late!.id]);
        const claimIds = [...first, ...second].map((job) => job.claimId);
        expect(new Set(claimIds).size).toBe(4);
        expect(claimIds.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
        expect(await store.getJob(late!.id)).toEqual(second[1]);

        expect(await claimJobs(store, 'pilot-a', 5)).toEqual([]);
        await createJobs(store, 'alice', [spec(5)]);
        expect(await claimJobs(store, 'pilot-a', 0)).toEqual([]);
        expect(await claimJobs(store, 'pilot-a', -1)).toEqual([]);
      });

      it('never hands a job to two claimers', async () => {
        await expectEachJobClaimedOnce([store, await open()], 50);
      });

      it('claims jobs with the secrets they name, recording each hand-out in the claim', async () => {
        for (const [owner, key] of [
          ['alice', 'TOKEN'],
          ['alice', '___file___:cert.pem'],
          ['alice', 'UNUSED'],
          ['bob', 'TOKEN'],
        ] as const) {
          await put(store, secret(owner, key));
        }
        const [withSecrets, without] = await createJobs(store, 'alice', [
          { exec: 'a', outDS: 'o', secrets: ['___file___:cert.pem', 'TOKEN'] },
          { exec: 'b', outDS: 'o', secrets: [] },
        ]);
        const [bobs] = await createJobs(store, 'bob', [{ exec: 'c', outDS: 'o', secrets: ['TOKEN'] }]);
        clock.advance(1000);

        const claimed = await store.claimJobsWithSecrets('pilot-a', 5, LEASE_MS, '10.0.0.9');
        const stored = (owner: string, key: string) => ({
          owner,
          key,
          ciphertext: fakeCiphertext(`${owner}-${key}`),
          size: 10,
        });
        expect(claimed).toEqual([
          {
            job: await store.getJob(withSecrets!.id),
            // Sorted by key, in byte order.
            secrets: [stored('alice', 'TOKEN'), stored('alice', '___file___:cert.pem')],
          },
          { job: await store.getJob(without!.id), secrets: [] },
          { job: await store.getJob(bobs!.id), secrets: [stored('bob', 'TOKEN')] },
        ]);
        for (const { job } of claimed) {
          expect(job).toMatchObject({ state: 'running', pilot: 'pilot-a', attemptNr: 1, updatedAt: clock.now() });
        }
        const handOut = (job: JobRow, key: string) => ({
          at: clock.now(),
          actor: 'pilot-a',
          action: 'job_secrets',
          key,
          jobId: job.id,
          remote: '10.0.0.9',
        });
        expect((await store.listAudit({ actor: 'pilot-a' })).map(({ id: _id, ...entry }) => entry)).toEqual([
          handOut(withSecrets!, '___file___:cert.pem,TOKEN'),
          handOut(bobs!, 'TOKEN'),
        ]);
        expect(await store.claimJobsWithSecrets('pilot-a', 5, LEASE_MS, null)).toEqual([]);
      });

      it('gives a job whose secret was deleted after submission the others, and records no hand-out', async () => {
        await put(store, secret('alice', 'OTHER'));
        await put(store, secret('alice', 'TOKEN'));
        const [job] = await createJobs(store, 'alice', [{ exec: 'a', outDS: 'o', secrets: ['OTHER', 'TOKEN'] }]);
        await store.deleteSecret('alice', 'TOKEN', audit('alice', 'delete', 'TOKEN'));
        const [claimed] = await store.claimJobsWithSecrets('pilot-a', 1, LEASE_MS, null);
        expect(claimed).toEqual({
          job: await store.getJob(job!.id),
          secrets: [{ owner: 'alice', key: 'OTHER', ciphertext: fakeCiphertext('alice-OTHER'), size: 10 }],
        });
        expect(await store.listAudit({ actor: 'pilot-a' })).toEqual([]);
      });

      it('never hands a job, or its hand-out, to two claimers with secrets', async () => {
        await put(store, secret('alice', 'TOKEN'));
        const claimed = await expectEachJobClaimedOnce([store, await open()], 40);
        const handOuts = (await store.listAudit()).filter((entry) => entry.action === 'job_secrets');
        expect(handOuts.map((entry) => [entry.jobId, entry.actor]).sort()).toEqual(
          claimed
            .filter((job) => job.spec.secrets.length > 0)
            .map((job) => [job.id, job.pilot])
            .sort(),
        );
      });

      it('lets the pilot of the current attempt update its job until it ends, recording the attempt', async () => {
        const job = await running();
        const { id, claimId } = job;

        clock.advance(1000);
        const update = await store.updateJob(id, 'pilot-a', claimId!, { state: 'running', appendLog: 'line 1\n' });
        expect(update).toMatchObject({ state: 'running', exitCode: null, logBytes: 7, updatedAt: clock.now() });
        await store.updateJob(id, 'pilot-a', claimId!, { state: 'running', appendLog: 'line 2\n' });
        clock.advance(1000);
        const done = await store.updateJob(id, 'pilot-a', claimId!, { state: 'failed', exitCode: 3 });
        expect(done).toEqual({
          ...job,
          state: 'failed',
          exitCode: 3,
          reason: 'the payload exited with code 3',
          leaseExpiresAt: null,
          logBytes: 14,
          updatedAt: clock.now(),
        });
        expect(await store.getJob(id)).toEqual(done);
        expect(await log(id)).toBe('line 1\nline 2\n');

        const after = await pandaErrorOf(store.updateJob(id, 'pilot-a', claimId!, { state: 'finished', exitCode: 0 }));
        expect(after).toMatchObject({
          code: 'FORBIDDEN',
          message: `job "${id}" has already ended (failed): it cannot be updated`,
        });
        expect(await store.getJob(id)).toEqual(done);
        const detail = await store.getTask('alice', job.taskId);
        expect(detail?.jobs[0]?.attempts).toEqual([
          {
            jobId: id,
            attemptNr: 1,
            pilot: 'pilot-a',
            startedAt: new Date('2024-05-01T10:00:00.000Z'),
            endedAt: clock.now(),
            outcome: 'failed',
            exitCode: 3,
          },
        ]);
      });

      it('keeps a log to its limit in bytes, with one note where it stops, never cutting a character', async () => {
        const job = await running();
        const append = (appendLog: string) =>
          store.updateJob(job.id, 'pilot-a', job.claimId!, { state: 'running', appendLog, maxLogBytes: 10 });
        await append('123456');
        await append('789');
        expect(await log(job.id)).toBe('123456789');
        const full = '123456789\n[the log is truncated at 10 bytes]\n';
        await append('é');
        expect(await log(job.id)).toBe(full);
        await append('more');
        expect(await log(job.id)).toBe(full);
      });

      it('stores any character a payload prints, NUL and invalid UTF-16 included, and reads it back from any offset', async () => {
        const job = await running();
        const printed = [
          'nul \u0000 here\n',
          'bell \u0007 esc \u001b[31m del \u007f\n',
          'emoji 😀 é €\n',
          '\u0000\u0000',
        ];
        for (const chunk of printed)
          await store.updateJob(job.id, 'pilot-a', job.claimId!, { state: 'running', appendLog: chunk });
        // A lone surrogate has no UTF-8 form: it is stored as U+FFFD, like any undecodable output.
        await store.updateJob(job.id, 'pilot-a', job.claimId!, {
          state: 'finished',
          exitCode: 0,
          appendLog: 'lone \ud800\n',
        });
        const all = `${printed.join('')}lone \ufffd\n`;
        const bytes = Buffer.byteLength(all, 'utf8');
        expect(await store.readJobLog(job.id, 0)).toEqual({ log: all, nextOffset: bytes });
        const second = Buffer.byteLength(printed[0]!, 'utf8');
        expect(await store.readJobLog(job.id, second)).toEqual({
          log: all.slice(printed[0]!.length),
          nextOffset: bytes,
        });
        expect(await store.readJobLog(job.id, bytes)).toEqual({ log: '', nextOffset: bytes });
        expect((await store.getJob(job.id))?.logBytes).toBe(bytes);
      });

      it("keeps an owner's logs together within their budget", async () => {
        const first = await running();
        await store.updateJob(first.id, 'pilot-a', first.claimId!, {
          state: 'finished',
          exitCode: 0,
          appendLog: '12345678',
          ownerLogBudget: 12,
        });
        const second = await running();
        await store.updateJob(second.id, 'pilot-a', second.claimId!, {
          state: 'running',
          appendLog: 'abcdefgh',
          ownerLogBudget: 12,
        });
        expect(await log(second.id)).toBe(
          'abcd\n[the log is truncated: your job logs together reached their budget of 12 bytes]\n',
        );
        await store.updateJob(second.id, 'pilot-a', second.claimId!, {
          state: 'running',
          appendLog: 'more',
          ownerLogBudget: 12,
        });
        expect(await log(second.id)).toBe(
          'abcd\n[the log is truncated: your job logs together reached their budget of 12 bytes]\n',
        );
        expect(await log(first.id)).toBe('12345678');
      });

      it('refuses other pilots, other claims, unclaimed and unknown jobs, changing nothing', async () => {
        const [queued, claimed] = await createJobs(store, 'alice', [spec(1), spec(2)]);
        await claimJobs(store, 'pilot-a', 1);
        const job = (await store.getJob(queued!.id))!;
        const update = { state: 'finished', exitCode: 0, appendLog: 'x' } as const;

        const wrongPilot = await pandaErrorOf(store.updateJob(job.id, 'pilot-b', job.claimId!, update));
        expect(wrongPilot.code).toBe('FORBIDDEN');
        expect(wrongPilot.message).not.toContain(job.claimId!);
        await pandaErrorOf(store.updateJob(job.id, 'pilot-a', 'guessed', update), 'FORBIDDEN');
        await pandaErrorOf(store.renewLease(job.id, 'pilot-a', 'guessed', LEASE_MS), 'FORBIDDEN');
        await pandaErrorOf(store.updateJob(claimed!.id, 'pilot-a', job.claimId!, update), 'FORBIDDEN');
        await pandaErrorOf(store.updateJob('nope', 'pilot-a', job.claimId!, update), 'NOT_FOUND');
        await pandaErrorOf(store.renewLease('nope', 'pilot-a', job.claimId!, LEASE_MS), 'NOT_FOUND');
        expect(await store.getJob(job.id)).toEqual(job);
        expect(await store.getJob(claimed!.id)).toEqual(claimed);
        expect(await log(job.id)).toBe('');
      });

      describe('leases and attempts', () => {
        it('renews a lease by heartbeat, so the attempt outlives its first lease', async () => {
          const job = await running();
          clock.advance(LEASE_MS - 1000);
          expect(await store.renewLease(job.id, 'pilot-a', job.claimId!, LEASE_MS)).toEqual({
            leaseExpiresAt: new Date(clock.now().getTime() + LEASE_MS),
            cancel: false,
          });
          clock.advance(LEASE_MS - 1000);
          expect(await store.expireLeases()).toBe(0);
          const done = await store.updateJob(job.id, 'pilot-a', job.claimId!, { state: 'finished', exitCode: 0 });
          expect(done).toMatchObject({ state: 'finished', attemptNr: 1, reason: null });
        });

        it('ends an attempt whose lease ran out as lost and queues the job again; the next pilot gets a new attempt', async () => {
          const job = await running();
          clock.advance(LEASE_MS);
          // Run out but not yet swept: the old claim is refused, and nothing changes.
          const before = await store.getJob(job.id);
          expect(await pandaErrorOf(store.renewLease(job.id, 'pilot-a', job.claimId!, LEASE_MS))).toMatchObject({
            code: 'FORBIDDEN',
            message: `the lease of job "${job.id}" ran out: its attempt 1 is over`,
          });
          await pandaErrorOf(
            store.updateJob(job.id, 'pilot-a', job.claimId!, { state: 'finished', exitCode: 0, appendLog: 'late' }),
            'FORBIDDEN',
          );
          expect(await store.getJob(job.id)).toEqual(before);

          expect(await store.expireLeases()).toBe(1);
          expect(await store.expireLeases()).toBe(0);
          expect(await store.getJob(job.id)).toMatchObject({
            state: 'queued',
            attemptNr: 1,
            claimId: null,
            leaseExpiresAt: null,
            reason: null,
          });
          expect(await log(job.id)).toBe(
            '\npanda-server: attempt 1 of 3 ended lost: its lease ran out (pilot pilot-a stopped renewing it); the job is queued again\n',
          );

          clock.advance(1000);
          const [again] = await claimJobs(store, 'pilot-b', 1);
          expect(again).toMatchObject({ id: job.id, attemptNr: 2, pilot: 'pilot-b', state: 'running' });
          expect(again!.claimId).not.toBe(job.claimId);
          // The first pilot's late calls are refused and change nothing.
          await pandaErrorOf(
            store.updateJob(job.id, 'pilot-a', job.claimId!, { state: 'failed', exitCode: 1, appendLog: 'late' }),
            'FORBIDDEN',
          );
          await pandaErrorOf(store.renewLease(job.id, 'pilot-a', job.claimId!, LEASE_MS), 'FORBIDDEN');
          expect(await store.getJob(job.id)).toEqual(again);

          await store.updateJob(job.id, 'pilot-b', again!.claimId!, { state: 'finished', exitCode: 0 });
          const detail = await store.getTask('alice', job.taskId);
          expect(
            detail?.jobs[0]?.attempts.map(({ attemptNr, pilot, outcome, exitCode }) => ({
              attemptNr,
              pilot,
              outcome,
              exitCode,
            })),
          ).toEqual([
            { attemptNr: 1, pilot: 'pilot-a', outcome: 'lost', exitCode: null },
            { attemptNr: 2, pilot: 'pilot-b', outcome: 'finished', exitCode: 0 },
          ]);
          expect(detail?.jobs[0]?.attempts[0]?.endedAt).toEqual(
            new Date(Date.parse('2024-05-01T10:00:00.000Z') + LEASE_MS),
          );
        });

        it('expires leases at acquire time too, without a sweep', async () => {
          const job = await running();
          clock.advance(LEASE_MS + 1);
          const [again] = await claimJobs(store, 'pilot-b', 1);
          expect(again).toMatchObject({ id: job.id, attemptNr: 2, pilot: 'pilot-b' });
        });

        it('fails the job with the reason once its last attempt is lost', async () => {
          const job = await running('pilot-1', { maxUnfinishedJobs: 10, maxAttempts: 2 });
          clock.advance(LEASE_MS);
          await store.expireLeases();
          await claimJobs(store, 'pilot-2', 1);
          clock.advance(LEASE_MS);
          expect(await store.expireLeases()).toBe(1);
          const failed = await store.getJob(job.id);
          expect(failed).toMatchObject({
            state: 'failed',
            attemptNr: 2,
            maxAttempts: 2,
            reason:
              'attempt 2 of 2 ended lost: its lease ran out (pilot pilot-2 stopped renewing it), and it was the last attempt',
          });
          expect(await claimJobs(store, 'pilot-3', 1)).toEqual([]);
          expect(await store.countUnfinishedJobs('alice')).toBe(0);
        });

        it('expires each lease once when several instances sweep at once', async () => {
          await createJobs(
            store,
            'alice',
            Array.from({ length: 20 }, (_, n) => spec(n)),
          );
          await claimJobs(store, 'pilot-a', 20);
          clock.advance(LEASE_MS);
          const others = [await open(), await open()];
          const counts = await Promise.all([store, ...others].map((s) => s.expireLeases()));
          expect(counts.reduce((a, b) => a + b, 0)).toBe(20);
          const jobs = (await store.getTask('alice', (await store.listTasks('alice'))[0]!.taskId))!.jobs;
          expect(
            jobs.every(
              (job) => job.state === 'queued' && job.attempts.length === 1 && job.attempts[0]!.outcome === 'lost',
            ),
          ).toBe(true);
        });

        it('queues a released job again as a new attempt, keeping its log', async () => {
          const job = await running();
          const released = await store.updateJob(job.id, 'pilot-a', job.claimId!, {
            state: 'released',
            exitCode: 143,
            appendLog: 'partial\n',
          });
          expect(released).toMatchObject({
            state: 'queued',
            attemptNr: 1,
            claimId: null,
            exitCode: null,
            reason: null,
          });
          expect(await log(job.id)).toBe(
            'partial\n\npanda-server: attempt 1 of 3 ended released: pilot pilot-a was stopped and handed the job back; the job is queued again\n',
          );
          await pandaErrorOf(
            store.updateJob(job.id, 'pilot-a', job.claimId!, { state: 'finished', exitCode: 0 }),
            'FORBIDDEN',
          );
          const [again] = await claimJobs(store, 'pilot-b', 1);
          expect(again).toMatchObject({ id: job.id, attemptNr: 2 });
          const attempts = (await store.getTask('alice', job.taskId))!.jobs[0]!.attempts;
          expect(attempts.map((a) => [a.outcome, a.exitCode])).toEqual([
            ['released', 143],
            ['running', null],
          ]);
        });
      });

      describe('tasks', () => {
        it("lists the owner's tasks newest first with jobs by state and a status from them", async () => {
          const a = await store.createTask('alice', [spec(1), spec(2)], LIMITS);
          clock.advance(1000);
          const b = await store.createTask('alice', [spec(3)], LIMITS);
          await store.createTask('bob', [spec(4)], LIMITS);
          const counts = (queued: number, running: number, finished: number, failed: number, cancelled: number) => ({
            queued,
            running,
            finished,
            failed,
            cancelled,
          });
          let tasks = await store.listTasks('alice');
          expect(tasks).toEqual([
            {
              taskId: b.taskId,
              owner: 'alice',
              status: 'queued',
              exec: 'echo 3',
              outDS: 'user.alice.out3',
              nJobs: 1,
              jobsByState: counts(1, 0, 0, 0, 0),
              createdAt: new Date('2024-05-01T10:00:01.000Z'),
              updatedAt: new Date('2024-05-01T10:00:01.000Z'),
            },
            expect.objectContaining({
              taskId: a.taskId,
              status: 'queued',
              exec: 'echo 1',
              nJobs: 2,
              jobsByState: counts(2, 0, 0, 0, 0),
            }),
          ]);
          const [first] = await claimJobs(store, 'pilot-a', 1);
          clock.advance(1000);
          await store.updateJob(first!.id, 'pilot-a', first!.claimId!, { state: 'finished', exitCode: 0 });
          tasks = await store.listTasks('alice');
          expect(tasks[1]).toMatchObject({
            status: 'running',
            jobsByState: counts(1, 0, 1, 0, 0),
            updatedAt: clock.now(),
          });
          const [second] = await claimJobs(store, 'pilot-a', 1);
          await store.updateJob(second!.id, 'pilot-a', second!.claimId!, { state: 'failed', exitCode: 2 });
          expect((await store.listTasks('alice'))[1]).toMatchObject({
            status: 'failed',
            jobsByState: counts(0, 0, 1, 1, 0),
          });
          expect(await store.listTasks('carol')).toEqual([]);
          expect(await store.getTask('bob', a.taskId)).toBeNull();
          expect(await store.getTask('alice', 999_999)).toBeNull();
        });

        it('kills a task: queued jobs never run, a running one is told at its heartbeat and keeps only its last log', async () => {
          const { taskId, jobs } = await store.createTask('alice', [spec(1), spec(2)], LIMITS);
          const [run] = await claimJobs(store, 'pilot-a', 1);
          await pandaErrorOf(store.killTask('bob', taskId, 'killed by bob'), 'NOT_FOUND');
          clock.advance(1000);
          const killed = await store.killTask('alice', taskId, 'killed by alice');
          expect(killed.cancelled).toBe(2);
          expect(killed.task).toMatchObject({
            status: 'cancelled',
            jobsByState: { queued: 0, running: 0, cancelled: 2 },
          });
          expect(await claimJobs(store, 'pilot-b', 5)).toEqual([]);
          expect(await store.countUnfinishedJobs('alice')).toBe(0);

          expect(await store.renewLease(run!.id, 'pilot-a', run!.claimId!, LEASE_MS)).toEqual({
            leaseExpiresAt: clock.now(),
            cancel: true,
          });
          const last = await store.updateJob(run!.id, 'pilot-a', run!.claimId!, {
            state: 'failed',
            exitCode: 143,
            appendLog: 'stopped\n',
          });
          expect(last).toMatchObject({ state: 'cancelled', reason: 'killed by alice' });
          expect(await log(run!.id)).toBe('\npanda-server: killed by alice\nstopped\n');
          const detail = (await store.getTask('alice', taskId))!;
          expect(
            detail.jobs.map((job) => [job.jobIndex, job.state, job.attempts.map((a) => [a.outcome, a.exitCode])]),
          ).toEqual([
            [1, 'cancelled', [['cancelled', 143]]],
            [2, 'cancelled', []],
          ]);
          expect(jobs[1]!.id).toBe(detail.jobs[1]!.id);

          expect(await pandaErrorOf(store.killTask('alice', taskId, 'killed by alice'))).toMatchObject({
            code: 'CONFLICT',
            message: `task ${taskId} has ended (cancelled): there is no queued or running job to kill`,
          });
          await pandaErrorOf(store.killTask('alice', 999_999, 'x'), 'NOT_FOUND');
        });

        it('retries the failed and cancelled jobs of a task as new attempts, with fresh attempts to spare', async () => {
          const { taskId, jobs } = await store.createTask('alice', [spec(1), spec(2), spec(3)], {
            maxUnfinishedJobs: 10,
            maxAttempts: 1,
          });
          const claimed = await claimJobs(store, 'pilot-a', 2);
          await store.updateJob(claimed[0]!.id, 'pilot-a', claimed[0]!.claimId!, { state: 'finished', exitCode: 0 });
          await store.updateJob(claimed[1]!.id, 'pilot-a', claimed[1]!.claimId!, { state: 'failed', exitCode: 1 });
          await pandaErrorOf(store.retryTask('bob', taskId, 1), 'NOT_FOUND');
          await store.killTask('alice', taskId, 'killed by alice');

          const retried = await store.retryTask('alice', taskId, 1);
          expect(retried).toMatchObject({
            retried: 2,
            task: { status: 'running', jobsByState: { finished: 1, queued: 2 } },
          });
          expect(await store.getJob(jobs[1]!.id)).toMatchObject({
            state: 'queued',
            attemptNr: 1,
            maxAttempts: 2,
            reason: null,
            exitCode: null,
          });
          expect(await store.getJob(jobs[2]!.id)).toMatchObject({ state: 'queued', attemptNr: 0, maxAttempts: 1 });
          expect(await log(jobs[1]!.id)).toBe(
            '\npanda-server: retried by its owner after attempt 1; the job is queued again\n',
          );
          expect(await log(jobs[2]!.id)).toBe(
            '\npanda-server: killed by alice\n\npanda-server: retried by its owner; the job is queued again\n',
          );
          const again = await claimJobs(store, 'pilot-b', 5);
          expect(again.map((job) => [job.id, job.attemptNr])).toEqual([
            [jobs[1]!.id, 2],
            [jobs[2]!.id, 1],
          ]);
          expect(await pandaErrorOf(store.retryTask('alice', taskId, 1))).toMatchObject({
            code: 'CONFLICT',
            message: `task ${taskId} (running) has no failed or cancelled job to retry`,
          });
        });
      });

      describe('retention', () => {
        it('deletes ended jobs older than the cut-off with their logs and attempts, and empty tasks', async () => {
          const old = await running();
          await store.updateJob(old.id, 'pilot-a', old.claimId!, {
            state: 'finished',
            exitCode: 0,
            appendLog: 'old log',
          });
          clock.advance(10_000);
          const recent = await running();
          await store.updateJob(recent.id, 'pilot-a', recent.claimId!, {
            state: 'failed',
            exitCode: 1,
            appendLog: 'recent log',
          });
          clock.set('2024-05-01T09:00:00.000Z');
          const waiting = await store.createTask('alice', [spec(2)], LIMITS);
          clock.set('2024-05-01T10:00:10.000Z');

          expect(await store.applyRetention(new Date(clock.now().getTime() - 5_000), 1_000_000)).toEqual({
            jobs: 1,
            logs: 0,
          });
          expect(await store.getJob(old.id)).toBeNull();
          expect(await store.readJobLog(old.id, 0)).toEqual({ log: '', nextOffset: 0 });
          expect(await store.getTask('alice', old.taskId)).toBeNull();
          expect(await store.getJob(waiting.jobs[0]!.id)).toMatchObject({ state: 'queued' });
          expect(await log(recent.id)).toBe('recent log');
        });

        it("empties the oldest ended logs of an owner over the log budget, never a running job's", async () => {
          const jobs: JobRow[] = [];
          for (const text of ['aaaaaaaaaa', 'bbbbbbbbbb', 'cccccccccc']) {
            const job = await running();
            await store.updateJob(job.id, 'pilot-a', job.claimId!, { state: 'finished', exitCode: 0, appendLog: text });
            jobs.push(job);
            clock.advance(1000);
          }
          const live = await running();
          await store.updateJob(live.id, 'pilot-a', live.claimId!, { state: 'running', appendLog: 'dddddddddd' });
          await store.createTask('bob', [spec(9)], LIMITS);

          expect(await store.applyRetention(new Date(0), 25)).toEqual({ jobs: 0, logs: 2 });
          expect(await Promise.all([...jobs, live].map((job) => log(job.id)))).toEqual([
            '',
            '',
            'cccccccccc',
            'dddddddddd',
          ]);
          expect(await store.getJob(jobs[0]!.id)).toMatchObject({ state: 'finished', logBytes: 0 });
        });
      });
    });

    describe('meta and health', () => {
      it('gets and sets named values', async () => {
        expect(await store.getMeta('keyring-check')).toBeNull();
        await store.setMeta('keyring-check', 'one');
        await store.setMeta('keyring-check', 'two');
        await store.setMeta('other', '');
        expect(await store.getMeta('keyring-check')).toBe('two');
        expect(await store.getMeta('other')).toBe('');
      });

      it('answers a ping and can be closed twice', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        await store.close();
        await store.close();
      });
    });
  });
}
