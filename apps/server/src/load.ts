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

/** Most keys (remote addresses, users) a minute counter holds at once; the oldest count makes room. */
const MAX_COUNTED_KEYS = 10_000;
const MINUTE_MS = 60_000;

/** What a minute counter knows of one key: its events in the window, and when the window ends. */
interface MinuteWindow {
  count: number;
  endsAt: number;
}

/**
 * Counts events per key against `limit` in windows of a minute from each key's first event (a
 * window is over once its minute is, and the next event opens a new one). The map stays bounded:
 * past `maxKeys`, the windows that are over make room, else the oldest one.
 */
abstract class MinuteCounter {
  readonly #windows = new Map<string, MinuteWindow>();

  constructor(
    readonly limit: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = MAX_COUNTED_KEYS,
  ) {}

  /** `key`'s window, or undefined when it has none going. */
  protected current(key: string): MinuteWindow | undefined {
    const window = this.#windows.get(key);
    if (window === undefined || window.endsAt > this.now()) return window;
    this.#windows.delete(key);
    return undefined;
  }

  /** Counts one more event of `key`; returns its window. */
  protected add(key: string): MinuteWindow {
    const window = this.current(key);
    if (window !== undefined) {
      window.count += 1;
      return window;
    }
    if (this.#windows.size >= this.maxKeys) this.#makeRoom();
    const opened = { count: 1, endsAt: this.now() + MINUTE_MS };
    this.#windows.set(key, opened);
    return opened;
  }

  /** The whole seconds until `window` is over, at least 1: what a refused caller is told to wait. */
  protected secondsLeft(window: MinuteWindow): number {
    return Math.max(1, Math.ceil((window.endsAt - this.now()) / 1000));
  }

  /** Keys counted now (for tests and diagnostics). */
  get size(): number {
    return this.#windows.size;
  }

  #makeRoom(): void {
    const now = this.now();
    for (const [key, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(key);
    if (this.#windows.size >= this.maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
  }
}

/** A caller refused for its rate: the seconds it must wait and the error to answer it with. */
export interface RateRefusal {
  retryAfterSeconds: number;
  error: PandaError;
}

/**
 * Counts requests failing authentication per remote address, in windows of a minute from each
 * address's first failure, so that nobody makes the server verify token signatures without limit:
 * the per-user rate limit only counts callers whose token was accepted. The map stays bounded.
 */
export class AuthFailureCounter extends MinuteCounter {
  /** The refusal for `address` when it has failed `limit` times this minute, else undefined. */
  check(address: string): RateRefusal | undefined {
    const window = this.current(address);
    if (window === undefined || window.count < this.limit) return undefined;
    const seconds = this.secondsLeft(window);
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
    this.add(address);
  }
}

/** What a counted request is answered with: the limit, what is left of it, and the refusal past it. */
export interface RateCount {
  limit: number;
  remaining: number;
  /** Seconds until the caller's minute is over. */
  resetSeconds: number;
  refusal?: RateRefusal;
}

/**
 * The per-user rate limit (--rate-limit): counts each user's requests, refused ones included, in
 * windows of a minute from the user's first request; a request past `limit` is refused until the
 * minute is over. The map stays bounded.
 */
export class RequestRateLimit extends MinuteCounter {
  /** Counts one request of `owner`. */
  take(owner: string): RateCount {
    const window = this.add(owner);
    const resetSeconds = this.secondsLeft(window);
    const count = { limit: this.limit, remaining: Math.max(0, this.limit - window.count), resetSeconds };
    if (window.count <= this.limit) return count;
    return {
      ...count,
      refusal: {
        retryAfterSeconds: resetSeconds,
        error: new PandaError(
          'RATE_LIMITED',
          `too many requests: at most ${this.limit} per minute per user; try again in ${resetSeconds} s`,
        ),
      },
    };
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
  /** Requests of each authenticated user. */
  readonly requests: RequestRateLimit;

  constructor(readonly limits: LoadLimits) {
    this.authFailures = new AuthFailureCounter(limits.authFailuresPerMinute);
    this.requests = new RequestRateLimit(limits.requestsPerMinute);
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
