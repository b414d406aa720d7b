import type { PandaError } from '@panda-secrets/protocol';
import type { Identity, Keyring, TokenVerifier } from '@panda-secrets/crypto';
import type { Quota, Store } from '@panda-secrets/store';
import type { LoadGate } from './load.js';
import type { PublishedAuthConfig } from './routes/auth-config.js';

/** Where the server gets its current key ring; a file-backed source re-reads after `rotate-key`. */
export interface KeyringSource {
  current(): Keyring;
  /** Re-reads the key ring (after another process rotated it); `current()` then returns a new ring if it changed. */
  reload(): Promise<void>;
}

/** Everything the HTTP app needs, injected so tests build it in-process. */
export interface ServerContext {
  store: Store;
  keyring: KeyringSource;
  verifier: TokenVerifier;
  quota: Quota;
  /** Most unfinished (queued or running) jobs one user may have. */
  maxUnfinishedJobs: number;
  /** Per-user rate and concurrency, and the bytes all reads may hold at once. */
  load: LoadGate;
  /** PanDA's auth config for the device flow, when the server is told the OIDC client to publish. */
  authConfig?: PublishedAuthConfig;
  /** How attempts are leased, retried and kept. */
  jobs: JobPolicy;
}

/** The server's rules for running jobs: leases, attempts, retention. */
export interface JobPolicy {
  /** A lease's length: an attempt whose pilot sends no heartbeat for this long is lost. */
  leaseMs: number;
  /** Attempts a job gets before a lost or released attempt fails it. */
  maxAttempts: number;
  /** How long ended jobs and their logs are kept. */
  retentionMs: number;
  /** One user's job logs together take at most this many bytes. */
  logBudgetBytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by the auth hook on every /api/v1 route but health. */
    identity: Identity;
    /**
     * What was wrong with the request's input before its schema was checked (a body that is no
     * UTF-8 JSON, a NUL in the URL), kept for refuseInvalidInput so that it is refused after the
     * role guard and the rate limit, like any other bad input.
     */
    inputProblem: PandaError | undefined;
  }
}
