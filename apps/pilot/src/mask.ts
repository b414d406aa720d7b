import { MIN_MASKED_LENGTH } from '@panda-secrets/protocol';
import type { SecretBundle } from '@panda-secrets/protocol';

/** What replaces every masked stretch of output. */
export const MASK = '***';

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

/** The secrets a job's log must not show: text values (env secrets) and the bytes of secret files. */
export interface MaskSecrets {
  texts: readonly string[];
  files: readonly Uint8Array[];
}

/** Line widths at which common tools wrap base64: coreutils `base64` (76) and openssl / PEM (64). */
const BASE64_WRAP_WIDTHS = [76, 64];
/** The shortest run of printable ASCII in a binary file that `strings`-like output is masked for. */
const MIN_PRINTABLE_RUN = 8;

/** Length in characters (code points), the unit of MIN_MASKED_LENGTH. */
function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function isLongEnough(text: string): boolean {
  // A code point is one or two code units: only lengths in between need counting.
  if (text.length >= 2 * MIN_MASKED_LENGTH) return true;
  return text.length >= MIN_MASKED_LENGTH && characterCount(text) >= MIN_MASKED_LENGTH;
}

function linesOf(text: string): string[] {
  return text.split(/\r?\n/).filter(isLongEnough);
}

/** The form `json.dumps(value)` has in Python by default (ensure_ascii): non-ASCII and DEL as `\uXXXX`. */
function asciiJsonEscaped(jsonEscaped: string): string {
  return jsonEscaped.replace(/[\u007f-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** How bash's `set -x` writes a value inside single quotes: each `'` as `'\''`. */
function bashSingleQuoted(value: string): string {
  return value.replace(/'/g, "'\\''");
}

/** The lines of `encoded` wrapped at `width` columns; a last partial line only if long enough. */
function wrappedLines(encoded: string, width: number): string[] {
  const lines: string[] = [];
  for (let at = 0; at < encoded.length; at += width) lines.push(encoded.slice(at, at + width));
  return lines.filter((line) => line.length >= MIN_MASKED_LENGTH);
}

function base64Forms(bytes: Uint8Array): string[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const standard = buffer.toString('base64');
  const url = buffer.toString('base64url');
  return [
    standard,
    // Padding is often stripped.
    standard.replace(/=+$/, ''),
    url,
    url + standard.slice(url.length),
    ...BASE64_WRAP_WIDTHS.flatMap((width) => wrappedLines(standard, width)),
  ];
}

/** The string leaves of a value that parses as a JSON object or array, found without recursion. */
function jsonStringLeaves(value: string): string[] {
  const start = value.trimStart()[0];
  if (start !== '{' && start !== '[') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return [];
  }
  const leaves: string[] = [];
  const stack: unknown[] = [parsed];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') leaves.push(node);
    else if (Array.isArray(node)) stack.push(...node);
    else if (node !== null && typeof node === 'object') stack.push(...Object.values(node));
  }
  return leaves;
}

/**
 * Every form in which a payload may print the text `value`: as is, each line of a multi-line
 * value, JSON-escaped (as JavaScript and as Python's `json.dumps` write it), single-quoted as
 * bash's `set -x` shows it, base64 (standard and base64url, with and without padding, also of the
 * value followed by a newline, also wrapped at 76 and 64 columns), and when the value is a JSON
 * object or array, each string in it with its own forms.
 */
export function maskedForms(value: string): string[] {
  if (!isLongEnough(value)) return [];
  const jsonEscaped = JSON.stringify(value).slice(1, -1);
  const forms = [
    value,
    ...linesOf(value),
    jsonEscaped,
    asciiJsonEscaped(jsonEscaped),
    bashSingleQuoted(value),
    ...base64Forms(Buffer.from(value, 'utf8')),
    // `echo "$X" | base64` encodes the value with a trailing newline.
    ...base64Forms(Buffer.from(`${value}\n`, 'utf8')),
    ...jsonStringLeaves(value).flatMap(maskedForms),
  ];
  return [...new Set(forms)];
}

/** Printable ASCII runs (with tabs) in `bytes`, as `strings` shows them. */
function printableRuns(bytes: Uint8Array): string[] {
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return latin1.match(new RegExp(`[\\t\\x20-\\x7e]{${MIN_PRINTABLE_RUN},}`, 'g')) ?? [];
}

/**
 * Every form in which a payload may print the secret file `bytes`: a UTF-8 text file as text
 * (see {@link maskedForms}); any other file in base64 (as maskedForms writes it), decoded as UTF-8
 * with U+FFFD for what is not, each line of that, and its runs of printable ASCII.
 */
export function fileMaskedForms(bytes: Uint8Array): string[] {
  try {
    return maskedForms(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const forms = [...base64Forms(bytes), lossy, ...linesOf(lossy), ...printableRuns(bytes)];
    return [...new Set(forms.filter(isLongEnough))];
  }
}

/** What to mask in the log of a job that received `bundle`: its env values and its files' bytes. */
export function bundleMaskValues(bundle: Pick<SecretBundle, 'env' | 'files'>): MaskSecrets {
  return {
    texts: Object.values(bundle.env),
    files: Object.values(bundle.files).map((base64) => Buffer.from(base64, 'base64')),
  };
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
  const mixed = text.charCodeAt(at) ^ (text.charCodeAt(at + 1) << 7) ^ (text.charCodeAt(at + 2) << 14) ^ (text.charCodeAt(at + 3) << 21);
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

/** Every form of every secret, once. */
export function maskPatterns(secrets: MaskSecrets): string[] {
  return [...new Set([...secrets.texts.flatMap(maskedForms), ...secrets.files.flatMap(fileMaskedForms)])];
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Prepares masking for `secrets` once and returns a function that creates a fresh masker (one per
 * output stream) from it; see {@link createMasker}.
 */
export function maskerFactory(secrets: readonly string[] | MaskSecrets): () => Masker {
  const patterns = maskPatterns(Array.isArray(secrets) ? { texts: secrets, files: [] } : (secrets as MaskSecrets));
  const matcher = patterns.length === 0 ? undefined : createMatcher(patterns);
  return () => streamMasker(matcher);
}

/**
 * Creates a masker that replaces every form (see {@link maskedForms} and {@link fileMaskedForms})
 * of each secret with `***`, the longest match at a position first. Where matches overlap or
 * touch, the whole stretch they cover becomes one `***`, so no piece of a secret is left between
 * two masks. Values shorter than MIN_MASKED_LENGTH characters are left alone: they would mask
 * ordinary output. A list of strings is taken as text secrets.
 *
 * @example
 * const masker = createMasker(['s3cr3t-token']);
 * masker.write('token: s3cr3') + masker.write('t-token\n') + masker.end(); // 'token: ***\n'
 */
export function createMasker(secrets: readonly string[] | MaskSecrets): Masker {
  return maskerFactory(secrets)();
}

function streamMasker(prepared: Matcher | undefined): Masker {
  const decoder = new TextDecoder('utf-8');
  const decode = (chunk: Uint8Array | string): string => (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  if (prepared === undefined) return { write: decode, end: () => decoder.decode() };
  const matcher = prepared;

  /** Text not yet decided: from the first position where a secret may be starting. */
  let pending = '';
  /**
   * Where, in `pending`, a stretch already written out as `***` ends; -1 when none reaches into
   * it. A match that starts before or at this point extends that stretch instead of adding a mask.
   */
  let maskedUntil = -1;

  /** Where the undecided end of `text` begins: its last code units, if a pattern may begin there. */
  function undecidedTail(text: string): number {
    for (let at = Math.max(0, text.length - (MIN_MASKED_LENGTH - 1)); at < text.length; at += 1) {
      if (matcher.mayBegin(text.slice(at))) return at;
    }
    // A character's second half is still to come.
    return text.length > 0 && isHighSurrogate(text.charCodeAt(text.length - 1)) ? text.length - 1 : text.length;
  }

  /**
   * Masks `text` and returns what is decided. Unless the stream `ended`, it stops at the first
   * position where a secret may be starting but has not arrived whole; that rest waits in
   * `pending` for the next write.
   */
  function mask(text: string, ended: boolean): string {
    let final = ended ? text.length : undecidedTail(text);
    const out: string[] = [];
    let emitted = Math.max(0, maskedUntil);
    let coveredEnd = maskedUntil;
    for (let at = matcher.next(text, 0, final); at !== -1; at = matcher.next(text, at + 1, final)) {
      const length = matcher.probe(text, at, Math.max(at, coveredEnd), ended);
      if (length === UNDECIDED) {
        final = at;
        break;
      }
      if (length === 0) continue;
      if (at > coveredEnd) out.push(text.slice(emitted, at), MASK);
      coveredEnd = at + length;
      emitted = coveredEnd;
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
