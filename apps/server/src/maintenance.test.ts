import { describe, expect, it } from '@jest/globals';
import { PandaError } from '@panda-secrets/protocol';
import type { Store } from '@panda-secrets/store';
import type { ServerContext } from './context.js';
import { RETENTION_INTERVAL_MS, leaseCheckIntervalMs, startMaintenance } from './maintenance.js';

function context(store: Partial<Store>): ServerContext {
  return {
    store: store as Store,
    jobs: { leaseMs: 300_000, maxAttempts: 3, retentionMs: 86_400_000, logBudgetBytes: 1000 },
  } as ServerContext;
}

describe('job maintenance', () => {
  it('checks leases a few times per lease, between every second and every 30 s', () => {
    expect(leaseCheckIntervalMs(300_000)).toBe(30_000);
    expect(leaseCheckIntervalMs(8_000)).toBe(2_000);
    expect(leaseCheckIntervalMs(1_000)).toBe(1_000);
  });

  it('expires leases each round and applies retention when due, logging what it removed and surviving a lost database', async () => {
    let now = Date.parse('2026-01-10T00:00:00.000Z');
    const calls: string[] = [];
    let failing = false;
    const store: Partial<Store> = {
      expireLeases: async () => {
        calls.push('expire');
        if (failing) throw new PandaError('UNAVAILABLE', 'the database is unavailable: connection refused');
        return 2;
      },
      applyRetention: async (endedBefore, budget) => {
        calls.push(`retention ${endedBefore.toISOString()} ${budget}`);
        return { jobs: 1, logs: 0 };
      },
    };
    const lines: Array<[object, string]> = [];
    const log = {
      info: (fields: object, message: string) => lines.push([fields, message]),
      warn: (fields: object, message: string) => lines.push([fields, message]),
    };
    const maintenance = startMaintenance(context(store), log, () => new Date(now));
    try {
      await maintenance.runOnce();
      expect(calls).toEqual(['expire', 'retention 2026-01-09T00:00:00.000Z 1000']);
      now += 1000;
      await maintenance.runOnce();
      expect(calls.slice(2)).toEqual(['expire']);
      now += RETENTION_INTERVAL_MS;
      failing = true;
      await maintenance.runOnce();
      failing = false;
      await maintenance.runOnce();
      expect(calls.slice(3)).toEqual([
        'expire',
        'expire',
        `retention ${new Date(now - 86_400_000).toISOString()} 1000`,
      ]);
      expect(lines).toContainEqual([{ lost: 2 }, 'attempts lost: their lease ran out']);
      expect(lines).toContainEqual([{ jobs: 1, logs: 0 }, 'retention: ended jobs and logs removed']);
      expect(lines).toContainEqual([{ code: 'UNAVAILABLE' }, 'job maintenance failed']);
    } finally {
      await maintenance.stop();
    }
  });
});
