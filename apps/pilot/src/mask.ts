import { MIN_MASKED_LENGTH } from '@panda-secrets/protocol';
import type { SecretBundle } from '@panda-secrets/protocol';
import { bundleMaskValues, prepareForms } from './mask-forms.js';
import type { MaskSecrets } from './mask-forms.js';
import { MIN_STRETCH, createStretchIndex } from './stretch-index.js';
import type { StretchIndex } from './stretch-index.js';

/** What replaces every masked stretch of output. */
const MASK = '***';

/**
 * A streaming masker: feed it the payload's output chunk by chunk, send on what it returns.
 * It holds back just enough text to catch a secret split across two writes.
 */
export interface Masker {
  /** Takes the next chunk (bytes are decoded as UTF-8) and returns the masked text that is final. */
  write(chunk: Uint8Array | string): string;
  /** Returns, masked, everything still held back. Call once, when the stream ends. */
  end(): string;
}

/** One length of the patterns that share a prefix, longest first. */
interface LengthGroup {
  length: number;
  patterns: Set<string>;
}

/** Finds the next position in [from, to) where some pattern's prefix starts, or -1. */
type CandidateFinder = (text: string, from: number, to: number) => number;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * A regular expression of the prefixes scans fastest while they are few; with the thousands of
 * prefixes of a large secret file (each line of its base64 is one) it slows to a crawl, and a
 * hashed lookup of every position is faster.
 */
const MAX_REGEX_PREFIXES = 256;
/** 2^20 bits (128 kB, within a core's cache) leave few false hits even for tens of thousands of prefixes. */
const HASH_BITS = 20;

function prefixHash(text: string, at: number): number {
  const mixed =
    text.charCodeAt(at) ^
    (text.charCodeAt(at + 1) << 7) ^
    (text.charCodeAt(at + 2) << 14) ^
    (text.charCodeAt(at + 3) << 21);
  return Math.imul(mixed, 0x9e3779b1) >>> (32 - HASH_BITS);
}

function candidateFinder(prefixes: ReadonlySet<string>): CandidateFinder {
  if (prefixes.size <= MAX_REGEX_PREFIXES) {
    const finder = new RegExp([...prefixes].map(escapeRegExp).join('|'), 'g');
    return (text, from, to) => {
      finder.lastIndex = from;
      const found = finder.exec(text);
      return found !== null && found.index < to ? found.index : -1;
    };
  }
  const bits = new Uint32Array(1 << (HASH_BITS - 5));
  for (const prefix of prefixes) {
    const hash = prefixHash(prefix, 0);
    bits[hash >>> 5]! |= 1 << (hash & 31);
  }
  return (text, from, to) => {
    const last = Math.min(to, text.length - MIN_MASKED_LENGTH + 1);
    for (let at = from; at < last; at += 1) {
      const hash = prefixHash(text, at);
      if ((bits[hash >>> 5]! & (1 << (hash & 31))) !== 0 && prefixes.has(text.substr(at, MIN_MASKED_LENGTH))) return at;
    }
    return -1;
  };
}

/** A position where a pattern may start but the text ends before it could be told: wait for more. */
const UNDECIDED = -1;

/** The patterns, arranged to find quickly the longest one that matches at a position. */
interface Matcher {
  next: CandidateFinder;
  /** True when `rest`, shorter than MIN_MASKED_LENGTH, is how some pattern begins. */
  mayBegin(rest: string): boolean;
  /**
   * The length of the longest pattern that starts at `at` and ends after `after`; 0 when none
   * does; UNDECIDED when, unless `ended`, a longer one might still match once more text arrives.
   */
  probe(text: string, at: number, after: number, ended: boolean): number;
}

function createMatcher(patterns: readonly string[]): Matcher {
  // Every pattern is at least MIN_MASKED_LENGTH code units long, so its first code units find the
  // few candidates to compare at a position.
  const byPrefix = new Map<string, LengthGroup[]>();
  for (const pattern of patterns) {
    const prefix = pattern.slice(0, MIN_MASKED_LENGTH);
    const groups = byPrefix.get(prefix) ?? [];
    byPrefix.set(prefix, groups);
    const group = groups.find((candidate) => candidate.length === pattern.length);
    if (group) group.patterns.add(pattern);
    else groups.push({ length: pattern.length, patterns: new Set([pattern]) });
  }
  for (const groups of byPrefix.values()) groups.sort((a, b) => b.length - a.length);
  const beginnings = new Set<string>();
  for (const prefix of byPrefix.keys()) {
    for (let length = 1; length < MIN_MASKED_LENGTH; length += 1) beginnings.add(prefix.slice(0, length));
  }
  return {
    next: candidateFinder(new Set(byPrefix.keys())),
    mayBegin: (rest) => beginnings.has(rest),
    probe(text, at, after, ended) {
      for (const { length, patterns: group } of byPrefix.get(text.substr(at, MIN_MASKED_LENGTH)) ?? []) {
        if (at + length <= after) break;
        if (at + length <= text.length) {
          if (group.has(text.substr(at, length))) return length;
        } else if (!ended) {
          const rest = text.slice(at);
          for (const pattern of group) if (pattern.startsWith(rest)) return UNDECIDED;
        }
      }
      return 0;
    },
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The matchers of one job's secrets, built once and shared by the maskers of its output streams. */
interface PreparedMasking {
  short?: Matcher;
  long?: StretchIndex;
}

/** Builds the matchers: the set-up cost of masking, paid once per job. */
function prepareMasking(secrets: MaskSecrets): PreparedMasking {
  const forms = prepareForms(secrets);
  return {
    ...(forms.short.size === 0 ? {} : { short: createMatcher([...forms.short]) }),
    ...(forms.long.length === 0 ? {} : { long: createStretchIndex(forms.long, forms.tailOnly) }),
  };
}

/**
 * Prepares masking for `secrets` once and returns a function that creates a fresh masker (one per
 * output stream) from it; see {@link createMasker}.
 */
export function maskerFactory(secrets: readonly string[] | MaskSecrets): () => Masker {
  const prepared = prepareMasking(Array.isArray(secrets) ? { texts: secrets, files: [] } : (secrets as MaskSecrets));
  return () => streamMasker(prepared);
}

/** {@link maskerFactory} for a job's output: its env values and its files' bytes, each in every form. */
export function bundleMaskerFactory(bundle: Pick<SecretBundle, 'env' | 'files'>): () => Masker {
  return maskerFactory(bundleMaskValues(bundle));
}

/**
 * Creates a masker that replaces the forms of each secret (see textForms and fileForms) with
 * `***`: a form shorter than MIN_STRETCH characters where it appears whole, the longest at a
 * position first; a longer form wherever MIN_STRETCH or more of its characters appear in a row,
 * as far as they go. Where matches overlap or touch, the whole stretch they cover becomes one
 * `***`, so no piece of a secret is left between two masks. Values shorter than MIN_MASKED_LENGTH
 * characters are left alone: they would mask ordinary output. A list of strings is taken as text
 * secrets.
 *
 * @example
 * const masker = createMasker(['s3cr3t-token']);
 * masker.write('token: s3cr3') + masker.write('t-token\n') + masker.end(); // 'token: ***\n'
 */
export function createMasker(secrets: readonly string[] | MaskSecrets): Masker {
  return maskerFactory(secrets)();
}

function streamMasker(prepared: PreparedMasking): Masker {
  const decoder = new TextDecoder('utf-8');
  const decode = (chunk: Uint8Array | string): string =>
    typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  const { short, long } = prepared;
  if (short === undefined && long === undefined) return { write: decode, end: () => decoder.decode() };

  /** Text not yet decided: from the first position where a secret may be starting. */
  let pending = '';
  /**
   * Where, in `pending`, a stretch already written out as `***` ends; -1 when none reaches into
   * it. A match that starts before or at this point extends that stretch instead of adding a mask.
   */
  let maskedUntil = -1;

  /**
   * Where the undecided end of `text` begins: the last code units if a short form may begin
   * there; with long forms, also what follows the last line break (at most MIN_STRETCH - 1 code
   * units), since a stretch may be starting there. Whole lines pass at once, so output that
   * waits for input (a prompt, a process id to act on) is not held back.
   */
  function undecidedTail(text: string): number {
    const from =
      long === undefined ? text.length : Math.max(text.lastIndexOf('\n') + 1, text.length - (MIN_STRETCH - 1));
    for (let at = Math.max(0, text.length - (MIN_MASKED_LENGTH - 1)); at < from; at += 1) {
      if (short?.mayBegin(text.slice(at))) return at;
    }
    // A character's second half is still to come.
    return from === text.length && from > 0 && isHighSurrogate(text.charCodeAt(from - 1)) ? from - 1 : from;
  }

  /**
   * Masks `text` and returns what is decided. Unless the stream `ended`, it stops at the first
   * position where a secret may be starting but has not arrived whole; that rest waits in
   * `pending` for the next write.
   */
  function mask(text: string, ended: boolean): string {
    let final = ended ? text.length : undecidedTail(text);
    const matches: Array<[start: number, end: number]> = [];
    for (const stretch of long?.find(text, ended) ?? []) {
      if (stretch.open) final = Math.min(final, stretch.start);
      else matches.push([stretch.start, stretch.end]);
    }
    if (short !== undefined) {
      let shortCovered = -1;
      for (let at = short.next(text, 0, final); at !== -1; at = short.next(text, at + 1, final)) {
        const length = short.probe(text, at, Math.max(at, shortCovered), ended);
        if (length === UNDECIDED) {
          final = at;
          break;
        }
        if (length === 0) continue;
        matches.push([at, at + length]);
        shortCovered = at + length;
      }
    }
    matches.sort((a, b) => a[0] - b[0]);
    const out: string[] = [];
    let emitted = Math.max(0, maskedUntil);
    let coveredEnd = maskedUntil;
    for (const [start, end] of matches) {
      if (start >= final) break;
      if (end <= coveredEnd) continue;
      if (start > coveredEnd) out.push(text.slice(emitted, start), MASK);
      coveredEnd = end;
      emitted = end;
    }
    if (coveredEnd < final) {
      out.push(text.slice(emitted, final));
      maskedUntil = -1;
    } else {
      maskedUntil = coveredEnd - final;
    }
    pending = text.slice(final);
    return out.join('');
  }

  return {
    write: (chunk) => mask(pending + decode(chunk), false),
    end: () => mask(pending + decoder.decode(), true),
  };
}
