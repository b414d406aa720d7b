import { isPandaError } from '@panda-secrets/protocol';
import type { ServerContext } from './context.js';

/** How often ended jobs past their retention, and logs over their owner's budget, are removed. */
export const RETENTION_INTERVAL_MS = 10 * 60 * 1000;

/** What the maintenance loop reports: a line of the server's log. */
export interface MaintenanceLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface Maintenance {
  /** Runs one round now (lease expiry, and retention when due); rounds never overlap. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * How often leases are checked: a few times per lease, so a lost attempt is noticed soon after its
 * lease ran out, but at most every 30 s and at least every second.
 */
export function leaseCheckIntervalMs(leaseMs: number): number {
  return Math.min(30_000, Math.max(1000, Math.floor(leaseMs / 4)));
}

/**
 * Ends the attempts whose lease ran out (without any pilot's help: the pilot may be dead) and
 * applies retention, on a timer. Every instance sharing a database may run it: the store makes each
 * expiry happen once.
 */
export function startMaintenance(
  ctx: ServerContext,
  log: MaintenanceLog,
  now: () => Date = () => new Date(),
): Maintenance {
  let lastRetention = -Infinity;
  let running: Promise<void> | undefined;

  async function round(): Promise<void> {
    try {
      const lost = await ctx.store.expireLeases();
      if (lost > 0) log.info({ lost }, 'attempts lost: their lease ran out');
      const at = now().getTime();
      if (at - lastRetention >= RETENTION_INTERVAL_MS) {
        lastRetention = at;
        const removed = await ctx.store.applyRetention(new Date(at - ctx.jobs.retentionMs), ctx.jobs.logBudgetBytes);
        if (removed.jobs + removed.logs > 0) log.info(removed, 'retention: ended jobs and logs removed');
      }
    } catch (error) {
      // The database may be briefly away; the next round tries again.
      log.warn({ code: isPandaError(error) ? error.code : 'SERVER_ERROR' }, 'job maintenance failed');
    }
  }

  const runOnce = (): Promise<void> => (running ??= round().finally(() => (running = undefined)));
  const timer = setInterval(() => void runOnce(), leaseCheckIntervalMs(ctx.jobs.leaseMs));
  timer.unref();
  void runOnce();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
