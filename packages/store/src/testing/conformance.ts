import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@panda-secrets/protocol';
import type { StoreClock } from '../rules.js';
import type { AuditInput, PutSecretInput, Quota, Store } from '../types.js';

/** A database the suite can empty and open stores on. */
export interface StoreTarget {
  /** Empties the database that the following `open` calls share. */
  reset(): Promise<void>;
  /** Opens a store with its own connection (or pool) on the current database. */
  open(clock: Required<StoreClock>): Promise<Store>;
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

/** The code and message a promise rejects with (undefined when it resolves). */
async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string } | undefined> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  return undefined;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return (await failure(promise))?.code;
}

async function put(store: Store, input: PutSecretInput, quota: Quota = ROOMY): Promise<void> {
  await store.putSecret(input, quota, audit(input.owner, 'set', input.key));
}

/**
 * Creates `jobCount` jobs, lets every store claim in small batches at the same time until none is
 * left, and checks each job went to exactly one claimer, marked with that claimer's pilot.
 */
export async function expectEachJobClaimedOnce(stores: readonly Store[], jobCount: number): Promise<void> {
  const created = await stores[0]!.createJobs(
    'alice',
    Array.from({ length: jobCount }, (_, n) => spec(n)),
  );
  const claims = await Promise.all(
    stores.map(async (store, n) => {
      const pilot = `pilot-${n}`;
      const claimed: string[] = [];
      for (;;) {
        const batch = await store.claimJobs(pilot, 3);
        if (batch.length === 0) return claimed;
        for (const job of batch) {
          expect(job).toMatchObject({ state: 'running', pilot });
          claimed.push(job.id);
        }
      }
    }),
  );
  expect(claims.flat().sort()).toEqual(created.map((job) => job.id).sort());
  expect(await stores[0]!.claimJobs('late-pilot', jobCount)).toEqual([]);
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

      it('lists by key in byte order, all or only the keys asked for', async () => {
        for (const key of ['b', '___file___:z.txt', 'B', '_a', 'a']) await put(store, secret('alice', key));
        const keys = async (only?: string[]) => (await store.getSecrets('alice', only)).map((s) => s.key);
        expect(await keys()).toEqual(['B', '___file___:z.txt', '_a', 'a', 'b']);
        expect(await keys(['b', 'missing', '___file___:z.txt'])).toEqual(['___file___:z.txt', 'b']);
        expect(await keys([])).toEqual([]);
      });

      it("keeps owners apart", async () => {
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
          { owner: 'alice', key: 'A', ciphertext: fakeCiphertext('rotated-A'), keyId: 'k2', revision: read.get('alice/A')! },
          { owner: 'bob', key: 'B', ciphertext: fakeCiphertext('rotated-B'), keyId: 'k2', revision: read.get('bob/B')! },
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
          [a!, b!, c!].map((s) => ({ owner: s.owner, key: s.key, ciphertext: fakeCiphertext(`rotated-${s.key}`), keyId: 'k2', revision: s.revision })),
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
          await store.replaceCiphertexts([{ owner: 'alice', key: 'C', ciphertext: fakeCiphertext('again'), keyId: 'k3', revision: c!.revision }]),
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

        expect(await failure(put(store, secret('alice', 'C', 5), quota))).toEqual({
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
        expect(await codeOf(put(store, secret('alice', 'B', 41), quota))).toBe('QUOTA_EXCEEDED');
        await put(store, secret('alice', 'B', 40), quota);
        await put(store, secret('alice', 'A', 60, 'same-size'), quota);
        expect(await codeOf(put(store, secret('alice', 'A', 61, 'bigger'), quota))).toBe('QUOTA_EXCEEDED');
        expect((await store.getSecrets('alice')).map((s) => [s.key, s.size, s.ciphertext])).toEqual([
          ['A', 60, fakeCiphertext('same-size')],
          ['B', 40, fakeCiphertext('alice-B')],
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
        expect(await failure(store.putSecrets('alice', batch, quota, audit('alice', 'set', null)))).toEqual({
          code: 'QUOTA_EXCEEDED',
          message:
            'storing these 4 secrets (20 bytes) would make 4 secrets of 20 bytes in total; you have 0 other secrets of 0 bytes ' +
            'and the limits are 3 secrets and 1000 bytes per user: nothing was changed',
        });
        expect({ secrets: await store.allSecrets(), audit: await store.listAudit() }).toEqual(before);

        // The database itself refuses the third row half-way through: the first two are not kept.
        const broken = [...batch.slice(0, 2), { ...batch[2]!, ciphertext: null as unknown as string }];
        expect(await codeOf(store.putSecrets('alice', broken, quota, audit('alice', 'set', null)))).toBe('SERVER_ERROR');
        expect({ secrets: await store.allSecrets(), audit: await store.listAudit() }).toEqual(before);

        clock.advance(1000);
        await store.putSecrets('alice', batch.slice(0, 3), quota, audit('alice', 'set', null));
        expect((await store.getSecrets('alice')).map((s) => [s.key, s.size, s.ciphertext, s.updatedAt.toISOString()])).toEqual([
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
        await store.appendAudit({ actor: 'pilot-1', action: 'job_secrets', key: 'A,B', jobId: 'job-1', remote: '10.0.0.9' });
        await put(store, secret('bob', 'X'));

        const records = await store.listAudit();
        const at0 = new Date('2024-05-01T10:00:00.000Z');
        const at1 = new Date('2024-05-01T10:00:01.000Z');
        const entry = (at: Date, actor: string, action: string, key: string | null) =>
          ({ at, actor, action, key, jobId: null, remote: '192.0.2.7' });
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
          { id: expect.any(Number), at: clock.now(), actor: 'alice', action: 'set', key: 'K', jobId: null, remote: null },
        ]);
      });
    });

    describe('jobs', () => {
      it('counts an owner\'s unfinished jobs: queued and running, not ended', async () => {
        expect(await store.countUnfinishedJobs('alice')).toBe(0);
        await store.createJobs('alice', [spec(1), spec(2), spec(3)]);
        await store.createJobs('bob', [spec(4)]);
        const [claimed] = await store.claimJobs('pilot-a', 1);
        expect(await store.countUnfinishedJobs('alice')).toBe(3);
        await store.updateJob(claimed!.id, 'pilot-a', claimed!.claimId!, { state: 'finished', exitCode: 0 });
        expect(await store.countUnfinishedJobs('alice')).toBe(2);
        expect(await store.countUnfinishedJobs('bob')).toBe(1);
      });

      it('creates queued jobs in order and reads them back', async () => {
        const jobs = await store.createJobs('alice', [spec(1), spec(2)]);
        const queued = (id: string, n: number) => ({
          id,
          owner: 'alice',
          spec: spec(n),
          state: 'queued',
          exitCode: null,
          pilot: null,
          claimId: null,
          log: '',
          createdAt: clock.now(),
          updatedAt: clock.now(),
        });
        expect(jobs).toEqual([queued('id-0001', 1), queued('id-0002', 2)]);
        expect(await store.getJob('id-0002')).toEqual(queued('id-0002', 2));
        expect(await store.getJob('nope')).toBeNull();
        expect(await store.createJobs('alice', [])).toEqual([]);
      });

      it('claims the oldest first, up to the limit, each with a fresh claim id', async () => {
        clock.set('2024-05-01T12:00:00.000Z');
        const [late] = await store.createJobs('alice', [spec(1)]);
        clock.set('2024-05-01T11:00:00.000Z');
        const early = await store.createJobs('bob', [spec(2), spec(3), spec(4)]);
        clock.set('2024-05-01T13:00:00.000Z');

        const first = await store.claimJobs('pilot-a', 2);
        expect(first.map((job) => job.id)).toEqual([early[0]!.id, early[1]!.id]);
        for (const job of first) {
          expect(job).toMatchObject({ state: 'running', pilot: 'pilot-a', updatedAt: clock.now() });
        }
        const second = await store.claimJobs('pilot-b', 5);
        expect(second.map((job) => job.id)).toEqual([early[2]!.id, late!.id]);
        const claimIds = [...first, ...second].map((job) => job.claimId);
        expect(new Set(claimIds).size).toBe(4);
        expect(claimIds.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
        expect(await store.getJob(late!.id)).toEqual(second[1]);

        expect(await store.claimJobs('pilot-a', 5)).toEqual([]);
        await store.createJobs('alice', [spec(5)]);
        expect(await store.claimJobs('pilot-a', 0)).toEqual([]);
        expect(await store.claimJobs('pilot-a', -1)).toEqual([]);
      });

      it('never hands a job to two claimers', async () => {
        await expectEachJobClaimedOnce([store, await open()], 50);
      });

      it('lets the claiming pilot update its job until it ends', async () => {
        await store.createJobs('alice', [spec(1)]);
        const [job] = await store.claimJobs('pilot-a', 1);
        const { id, claimId } = job!;

        clock.advance(1000);
        const running = await store.updateJob(id, 'pilot-a', claimId!, { state: 'running', appendLog: 'line 1\n' });
        expect(running).toMatchObject({ state: 'running', exitCode: null, log: 'line 1\n', updatedAt: clock.now() });
        await store.updateJob(id, 'pilot-a', claimId!, { state: 'running', appendLog: 'line 2\n' });
        clock.advance(1000);
        const done = await store.updateJob(id, 'pilot-a', claimId!, { state: 'failed', exitCode: 3 });
        expect(done).toEqual({ ...job, state: 'failed', exitCode: 3, log: 'line 1\nline 2\n', updatedAt: clock.now() });
        expect(await store.getJob(id)).toEqual(done);

        const after = await failure(store.updateJob(id, 'pilot-a', claimId!, { state: 'finished', exitCode: 0 }));
        expect(after).toEqual({ code: 'FORBIDDEN', message: `job "${id}" has already ended (failed): it cannot be updated` });
        expect(await store.getJob(id)).toEqual(done);
      });

      it('keeps a log to its limit, with one note where it stops', async () => {
        await store.createJobs('alice', [spec(1)]);
        const [job] = await store.claimJobs('pilot-a', 1);
        const append = (appendLog: string) =>
          store.updateJob(job!.id, 'pilot-a', job!.claimId!, { state: 'running', appendLog, maxLogLength: 10 });
        expect((await append('123456')).log).toBe('123456');
        expect((await append('7890')).log).toBe('1234567890');
        const full = '1234567890\n[the log is truncated at 10 characters]\n';
        expect((await append('é')).log).toBe(full);
        expect((await append('more')).log).toBe(full);
        const [other] = await store.createJobs('alice', [spec(2)]).then(() => store.claimJobs('pilot-a', 1));
        const cut = await store.updateJob(other!.id, 'pilot-a', other!.claimId!, { state: 'running', appendLog: 'abcdefghijkl', maxLogLength: 10 });
        expect(cut.log).toBe('abcdefghij\n[the log is truncated at 10 characters]\n');
      });

      it('refuses other pilots, other claims, unclaimed and unknown jobs', async () => {
        const [queued, claimed] = await store.createJobs('alice', [spec(1), spec(2)]);
        await store.claimJobs('pilot-a', 1);
        const job = (await store.getJob(queued!.id))!;
        const update = { state: 'finished', exitCode: 0, appendLog: 'x' } as const;

        const wrongPilot = await failure(store.updateJob(job.id, 'pilot-b', job.claimId!, update));
        expect(wrongPilot?.code).toBe('FORBIDDEN');
        expect(wrongPilot?.message).not.toContain(job.claimId!);
        expect(await codeOf(store.updateJob(job.id, 'pilot-a', 'guessed', update))).toBe('FORBIDDEN');
        expect(await codeOf(store.updateJob(claimed!.id, 'pilot-a', job.claimId!, update))).toBe('FORBIDDEN');
        expect(await codeOf(store.updateJob('nope', 'pilot-a', job.claimId!, update))).toBe('NOT_FOUND');
        expect(await store.getJob(job.id)).toEqual(job);
        expect(await store.getJob(claimed!.id)).toEqual(claimed);
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
