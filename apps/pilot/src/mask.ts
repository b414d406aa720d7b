import { MIN_MASKED_LENGTH } from '@panda-secrets/protocol';

/** What replaces every masked occurrence. */
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

/** Length in characters (code points), the unit of MIN_MASKED_LENGTH. */
function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function isLongEnough(text: string): boolean {
  return characterCount(text) >= MIN_MASKED_LENGTH;
}

/** The form `json.dumps(value)` has in Python by default (ensure_ascii): non-ASCII and DEL as `\uXXXX`. */
function asciiJsonEscaped(jsonEscaped: string): string {
  return jsonEscaped.replace(/[\u007f-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function base64Forms(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const standard = bytes.toString('base64');
  const url = bytes.toString('base64url');
  // Padding is often stripped, and `echo "$X" | base64` encodes the value with a trailing newline.
  return [standard, standard.replace(/=+$/, ''), url, url + standard.slice(url.length)];
}

/**
 * Every form in which a payload may print `value`: as is, each line of a multi-line value,
 * JSON-escaped (as JavaScript and as Python's `json.dumps` write it), and base64 (standard and
 * base64url, with and without padding, also of the value followed by a newline).
 */
export function maskedForms(value: string): string[] {
  if (!isLongEnough(value)) return [];
  const jsonEscaped = JSON.stringify(value).slice(1, -1);
  const lines = value.split(/\r?\n/).filter(isLongEnough);
  const forms = [
    value,
    ...lines,
    jsonEscaped,
    asciiJsonEscaped(jsonEscaped),
    ...base64Forms(value),
    ...base64Forms(`${value}\n`),
  ];
  return [...new Set(forms)];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Creates a masker that replaces every form (see {@link maskedForms}) of each secret with `***`,
 * the longest match first. Values shorter than MIN_MASKED_LENGTH characters are left alone: they
 * would mask ordinary output.
 *
 * @example
 * const masker = createMasker(['s3cr3t-token']);
 * masker.write('token: s3cr3') + masker.write('t-token\n') + masker.end(); // 'token: ***\n'
 */
export function createMasker(secrets: readonly string[]): Masker {
  const patterns = [...new Set(secrets.flatMap(maskedForms))].sort((a, b) => b.length - a.length);
  const decoder = new TextDecoder('utf-8');
  if (patterns.length === 0) {
    return {
      write: (chunk) => (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true })),
      end: () => decoder.decode(),
    };
  }

  // Every pattern is at least MIN_MASKED_LENGTH code units long, so its first code units find the
  // few candidates to compare at a position; one small regex finds the next such position.
  const byPrefix = new Map<string, string[]>();
  for (const pattern of patterns) {
    const prefix = pattern.slice(0, MIN_MASKED_LENGTH);
    const bucket = byPrefix.get(prefix);
    if (bucket) bucket.push(pattern);
    else byPrefix.set(prefix, [pattern]);
  }
  const prefixFinder = new RegExp([...byPrefix.keys()].map(escapeRegExp).join('|'), 'g');
  const holdBack = (patterns[0]?.length ?? 0) - 1;
  let pending = '';

  /**
   * Masks `text` up to `final`: a match starting before `final` is certain (every pattern fits
   * in `text` from there), one starting later might still grow into a longer match.
   */
  function maskUpTo(text: string, final: number): string {
    const out: string[] = [];
    let emitted = 0;
    prefixFinder.lastIndex = 0;
    for (let found = prefixFinder.exec(text); found && found.index < final; found = prefixFinder.exec(text)) {
      const at = found.index;
      const match = byPrefix.get(found[0])?.find((pattern) => text.startsWith(pattern, at));
      if (match !== undefined) {
        out.push(text.slice(emitted, at), MASK);
        emitted = at + match.length;
        prefixFinder.lastIndex = emitted;
      } else {
        prefixFinder.lastIndex = at + 1;
      }
    }
    const keepFrom = Math.max(emitted, final);
    out.push(text.slice(emitted, keepFrom));
    pending = text.slice(keepFrom);
    return out.join('');
  }

  return {
    write(chunk) {
      const text = pending + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
      return maskUpTo(text, Math.max(0, text.length - holdBack));
    },
    end() {
      const text = pending + decoder.decode();
      return maskUpTo(text, text.length);
    },
  };
}
