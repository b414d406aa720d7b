import { MAX_FILE_BYTES, PandaError } from '@panda-secrets/protocol';
import type { FastifyRequest } from 'fastify';

/** How much of the server one user, and all users together, may take at once. */
export interface LoadLimits {
  /** Requests one user (or pilot) may make per minute; beyond it, 429 with Retry-After. */
  requestsPerMinute: number;
  /** Reads of secrets (get_user_secrets) one user may have in progress at once; beyond it, 429. */
  concurrentReadsPerUser: number;
  /**
   * Memory all reads in progress together may take, estimated from their secrets' sizes
   * (`readMemoryEstimate`); a read that would go past it waits until there is room.
   */
  inflightBytes: number;
  /**
   * Requests failing authentication one remote address may make per minute; past it every request
   * from that address is answered 429 before its token is verified, until the minute is over.
   */
  authFailuresPerMinute: number;
}

/**
 * The largest request body: a file of MAX_FILE_BYTES in base64 inside JSON, with room for a
 * string value of 1000 kB written with JSON escapes. Larger bodies are refused before parsing.
 */
export const BODY_LIMIT = 8 * MAX_FILE_BYTES;

export const DEFAULT_LOAD_LIMITS: LoadLimits = {
  requestsPerMinute: 600,
  concurrentReadsPerUser: 2,
  inflightBytes: 512 * 1024 * 1024,
  authFailuresPerMinute: 300,
};

/** Most remote addresses whose authentication failures are counted at once; the oldest count makes room. */
const MAX_COUNTED_ADDRESSES = 10_000;
const MINUTE_MS = 60_000;

/**
 * Counts requests failing authentication per remote address, in windows of a minute from each
 * address's first failure, so that nobody makes the server verify token signatures without limit:
 * the per-user rate limit only counts callers whose token was accepted. The map stays bounded.
 */
export class AuthFailureCounter {
  readonly #windows = new Map<string, { failures: number; endsAt: number }>();

  constructor(
    readonly limit: number,
    private readonly now: () => number = Date.now,
    private readonly maxAddresses = MAX_COUNTED_ADDRESSES,
  ) {}

  /**
   * The seconds `address` must wait, having failed `limit` times this minute, else 0; with the
   * error to answer it with.
   */
  check(address: string): { retryAfterSeconds: number; error: PandaError } | undefined {
    const window = this.#current(address);
    if (window === undefined || window.failures < this.limit) return undefined;
    const seconds = Math.max(1, Math.ceil((window.endsAt - this.now()) / 1000));
    return {
      retryAfterSeconds: seconds,
      error: new PandaError(
        'RATE_LIMITED',
        `too many requests with refused credentials from your address: at most ${this.limit} per minute; try again in ${seconds} s`,
      ),
    };
  }

  /** Counts one more failure of `address`. */
  record(address: string): void {
    const window = this.#current(address);
    if (window !== undefined) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= this.maxAddresses) this.#makeRoom();
    this.#windows.set(address, { failures: 1, endsAt: this.now() + MINUTE_MS });
  }

  /** Addresses counted now (for tests and diagnostics). */
  get size(): number {
    return this.#windows.size;
  }

  #current(address: string): { failures: number; endsAt: number } | undefined {
    const window = this.#windows.get(address);
    if (window === undefined || window.endsAt > this.now()) return window;
    this.#windows.delete(address);
    return undefined;
  }

  /** Drops the windows that are over, else the oldest one (the map keeps insertion order). */
  #makeRoom(): void {
    const now = this.now();
    for (const [address, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(address);
    if (this.#windows.size >= this.maxAddresses) this.#windows.delete(this.#windows.keys().next().value!);
  }
}

/**
 * The memory a read of secrets of `plaintextBytes` takes at its peak: the ciphertexts (base64, a
 * third larger), the plaintexts, their wire form (a file's base64), the JSON of the dict, the
 * response's JSON with that string escaped, and the compressed copy. Measured at about 7.5 times
 * the plaintext for a user holding the largest quota of files.
 */
export function readMemoryEstimate(plaintextBytes: number): number {
  return 8 * plaintextBytes;
}

/** Seconds a caller refused for concurrency is asked to wait: a read of the largest quota takes about that. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

/** Counts each user's reads in progress and the decrypted bytes all of them hold. */
export class LoadGate {
  readonly #readers = new Map<string, number>();
  #inflight = 0;
  readonly #waiting: Array<{ bytes: number; admit: () => void }> = [];

  /** Requests failing authentication, per remote address. */
  readonly authFailures: AuthFailureCounter;

  constructor(readonly limits: LoadLimits) {
    this.authFailures = new AuthFailureCounter(limits.authFailuresPerMinute);
  }

  /** Counts one more read of `owner`'s, or throws RATE_LIMITED when they have the most already. */
  enterRead(owner: string): () => void {
    const running = this.#readers.get(owner) ?? 0;
    if (running >= this.limits.concurrentReadsPerUser) {
      throw new PandaError(
        'RATE_LIMITED',
        `you have ${running} reads of your secrets in progress, the most one user may have at once: ` +
          `try again when one has finished (in ${BUSY_RETRY_AFTER_SECONDS} s)`,
      );
    }
    this.#readers.set(owner, running + 1);
    return once(() => {
      const left = (this.#readers.get(owner) ?? 1) - 1;
      if (left === 0) this.#readers.delete(owner);
      else this.#readers.set(owner, left);
    });
  }

  /**
   * Waits until `bytes` more fit under the in-flight limit (a read larger than the limit goes
   * alone), then holds them until the returned release is called. A small read that fits goes
   * ahead of a large one that waits, so one user's large reads never hold up another's small one.
   */
  async reserveBytes(bytes: number): Promise<() => void> {
    if (!this.#fits(bytes)) {
      await new Promise<void>((admit) => this.#waiting.push({ bytes, admit }));
    } else {
      this.#inflight += bytes;
    }
    return once(() => {
      this.#inflight -= bytes;
      this.#admitWaiting();
    });
  }

  /** Decrypted bytes held now (for tests and diagnostics). */
  get inflightBytes(): number {
    return this.#inflight;
  }

  #fits(bytes: number): boolean {
    return this.#inflight === 0 || this.#inflight + bytes <= this.limits.inflightBytes;
  }

  #admitWaiting(): void {
    for (let index = 0; index < this.#waiting.length; ) {
      const next = this.#waiting[index]!;
      if (!this.#fits(next.bytes)) {
        index += 1;
        continue;
      }
      this.#waiting.splice(index, 1);
      this.#inflight += next.bytes;
      next.admit();
    }
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

const RELEASES = Symbol('load releases');

/** What a request holds; `done` once its response is out or its client has gone. */
type Holder = FastifyRequest & { [RELEASES]?: { done: boolean; releases: Array<() => void> } };

function heldBy(request: FastifyRequest) {
  return ((request as Holder)[RELEASES] ??= { done: false, releases: [] });
}

/**
 * Keeps `release` until the request is over: its response sent, or the client gone. The bytes of
 * a read stay held while its answer is serialized, compressed and written. What a request gets
 * after it is over (a read admitted once its client had left) is given back at once.
 */
export function holdUntilDone(request: FastifyRequest, release: () => void): void {
  const held = heldBy(request);
  if (held.done) release();
  else held.releases.push(release);
}

/** The hook that releases what `holdUntilDone` kept; registered for onResponse and onRequestAbort. */
export async function releaseHeld(request: FastifyRequest): Promise<void> {
  const held = heldBy(request);
  held.done = true;
  for (const release of held.releases.splice(0)) release();
}
