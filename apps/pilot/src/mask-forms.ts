import { MIN_MASKED_LENGTH } from '@panda-secrets/protocol';
import type { SecretBundle } from '@panda-secrets/protocol';
import { MIN_STRETCH, base64Form, base64Length, textForm } from './stretch-index.js';
import type { LongForm } from './stretch-index.js';

/**
 * The forms in which a payload may print one secret: `texts` are masked as written; `encoded`
 * is a byte string masked in its base64 forms (standard and base64url, with or without padding,
 * wrapped at any width, and when `withNewline` also of the bytes followed by a newline), which the
 * masker computes as it compares rather than storing them.
 */
export interface Forms {
  texts: string[];
  encoded?: Uint8Array;
  withNewline?: boolean;
}

/** JSON string leaves shorter than this are not masked on their own: they would mask ordinary words. */
export const MIN_LEAF_LENGTH = 6;
/** The most derived forms (lines, JSON leaves, printable runs) taken from one secret. */
const MAX_DERIVED_PER_SECRET = 1000;
/** The most derived forms taken from all the secrets of one job, in the order of the secrets. */
export const MAX_DERIVED_PER_JOB = 20_000;
/** The shortest run of printable ASCII in a binary file that `strings`-like output is masked for. */
const MIN_PRINTABLE_RUN = 8;

/** How many derived forms the secrets of one job may still add. */
class DerivedBudget {
  #left: number;

  constructor(total = MAX_DERIVED_PER_JOB) {
    this.#left = total;
  }

  /** Takes up to MAX_DERIVED_PER_SECRET items (and what the job has left) from `items`. */
  take(items: Iterable<string>): string[] {
    const taken: string[] = [];
    if (this.#left <= 0) return taken;
    for (const item of items) {
      taken.push(item);
      this.#left -= 1;
      if (taken.length >= MAX_DERIVED_PER_SECRET || this.#left <= 0) break;
    }
    return taken;
  }
}

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

/**
 * The lines of a multi-line text worth their own pattern: long enough to mask, shorter than
 * `maxLength` (a longer line is a stretch of the text, which the masker finds by itself).
 */
function* linesOf(text: string, maxLength: number): Generator<string> {
  if (!text.includes('\n')) return;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    if (line.length < maxLength && isLongEnough(line)) yield line;
    start = end + 1;
  }
}

/** `\uXXXX` for one UTF-16 code unit. */
function unicodeEscape(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * The JSON-escaped forms of `value` (without the quotes), as each common library writes a string:
 * JavaScript's JSON.stringify; Python's json.dumps (non-ASCII and DEL as `\uXXXX`); Go's
 * encoding/json (`&`, `<`, `>`, U+2028 and U+2029 as `\u0026`...); PHP's json_encode (`/` as `\/`,
 * non-ASCII as `\uXXXX`, also with JSON_UNESCAPED_UNICODE).
 */
export function jsonEscapedForms(value: string): string[] {
  const plain = JSON.stringify(value).slice(1, -1);
  const forms = [plain];
  const ascii = /[\u007f-\uffff]/.test(plain) ? plain.replace(/[\u007f-\uffff]/g, unicodeEscape) : plain;
  forms.push(ascii);
  if (/[&<>\u2028\u2029]/.test(plain)) forms.push(plain.replace(/[&<>\u2028\u2029]/g, unicodeEscape));
  if (plain.includes('/')) forms.push(plain.replace(/\//g, '\\/'), ascii.replace(/\//g, '\\/'));
  return forms;
}

const ANSI_C_LETTERS: Record<number, string> = {
  7: 'a',
  8: 'b',
  9: 't',
  10: 'n',
  11: 'v',
  12: 'f',
  13: 'r',
  27: 'E',
  39: "'",
  92: '\\',
};

/**
 * How bash's `set -x` writes `value` (between the quotes): `'…'` with each `'` as `'\''`, and, for
 * a value with control characters, `$'…'` (ANSI-C quoting: `\n`, `\t`, `\E`..., other control
 * characters and DEL as three octal digits, C1 controls byte by byte).
 */
function bashQuotedForms(value: string): string[] {
  const forms = [value.replace(/'/g, "'\\''")];
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) {
    forms.push(
      value.replace(/[\u0000-\u001f\u007f-\u009f'\\]/g, (char) => {
        const code = char.charCodeAt(0);
        const letter = ANSI_C_LETTERS[code];
        if (letter !== undefined) return `\\${letter}`;
        return [...Buffer.from(char, 'utf8')].map((byte) => `\\${byte.toString(8).padStart(3, '0')}`).join('');
      }),
    );
  }
  return forms;
}

/**
 * The string leaves of a text that looks like a JSON object or array, read from its string
 * literals one by one (no parse tree of the whole value is built): values, not keys, at least
 * MIN_LEAF_LENGTH characters long.
 */
function* jsonStringLeaves(value: string): Generator<string> {
  const start = value.trimStart()[0];
  if (start !== '{' && start !== '[') return;
  const literal = /"(?:[^"\\\u0000-\u001f]|\\.)*"\s*(:?)/g;
  for (let found = literal.exec(value); found !== null; found = literal.exec(value)) {
    if (found[1] === ':') continue;
    const text = found[0].slice(0, found[0].lastIndexOf('"') + 1);
    if (text.length < MIN_LEAF_LENGTH + 2) continue;
    let leaf: unknown;
    try {
      leaf = JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof leaf === 'string' && leaf.length >= MIN_LEAF_LENGTH && isLongEnough(leaf)) yield leaf;
  }
}

/** The forms in which a short text (a line or a JSON leaf) is masked: as is, JSON-escaped, bash-quoted. */
function plainForms(text: string): string[] {
  return [text, ...jsonEscapedForms(text), ...bashQuotedForms(text)];
}

/**
 * Every form in which a payload may print the text secret `value`: as is; each line of a
 * multi-line value; JSON-escaped (see jsonEscapedForms); bash `set -x` quoted; base64 of its UTF-8
 * bytes and of those bytes followed by a newline (`echo "$X" | base64`); and for a JSON object or
 * array, each string value of at least MIN_LEAF_LENGTH characters, as is and JSON-escaped.
 * Lines and leaves count against `budget`. `longFrom` is the length from which the masker finds
 * every stretch of a form by itself, so shorter derived forms are all that need listing.
 */
export function textForms(value: string, longFrom: number, budget = new DerivedBudget(), bytes?: Uint8Array): Forms {
  if (!isLongEnough(value)) return { texts: [] };
  const utf8 = bytes ?? Buffer.from(value, 'utf8');
  const derived = budget.take(
    (function* derive() {
      yield* linesOf(value, longFrom);
      yield* jsonStringLeaves(value);
    })(),
  );
  const texts = [...plainForms(value), ...derived.flatMap(plainForms)];
  return { texts: [...new Set(texts.filter(isLongEnough))], encoded: utf8, withNewline: true };
}

/** True for a byte `strings` shows: printable ASCII or a tab. */
function isPrintable(byte: number): boolean {
  return byte === 9 || (byte >= 0x20 && byte <= 0x7e);
}

/**
 * Printable ASCII runs (with tabs) in `bytes` of at least MIN_PRINTABLE_RUN and shorter than
 * `maxLength`, as `strings` shows them. Read from the bytes: only the runs become strings.
 */
function* printableRuns(bytes: Uint8Array, maxLength: number): Generator<string> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < buffer.length; ) {
    if (!isPrintable(buffer[at]!)) {
      at += 1;
      continue;
    }
    let end = at + 1;
    while (end < buffer.length && isPrintable(buffer[end]!)) end += 1;
    if (end - at >= MIN_PRINTABLE_RUN && end - at < maxLength) yield buffer.toString('latin1', at, end);
    at = end;
  }
}

/**
 * Every form in which a payload may print the secret file `bytes`: a UTF-8 text file as text (see
 * textForms); any other file in base64, as `cat` shows it (decoded as UTF-8 with U+FFFD for
 * what is not), each line of that, and its runs of printable ASCII as `strings` shows them.
 */
export function fileForms(bytes: Uint8Array, longFrom: number, budget = new DerivedBudget()): Forms {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const derived = budget.take(
      (function* derive() {
        yield* linesOf(lossy, longFrom);
        yield* printableRuns(bytes, longFrom);
      })(),
    );
    return { texts: [...new Set([lossy, ...derived].filter(isLongEnough))], encoded: bytes };
  }
  return textForms(text, longFrom, budget, bytes);
}

/** The secrets a job's log must not show: text values (env secrets) and the bytes of secret files. */
export interface MaskSecrets {
  texts: readonly string[];
  files: readonly Uint8Array[];
}

/** The base64 forms of a short byte string, written out: standard and base64url, with and without padding. */
function shortBase64Forms(bytes: Uint8Array): string[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const standard = buffer.toString('base64');
  const url = buffer.toString('base64url');
  return [standard, standard.replace(/=+$/, ''), url, url + standard.slice(url.length)];
}

/** What to mask in the log of a job that received `bundle`: its env values and its files' bytes. */
export function bundleMaskValues(bundle: Pick<SecretBundle, 'env' | 'files'>): MaskSecrets {
  return {
    texts: Object.values(bundle.env),
    files: Object.values(bundle.files).map((base64) => Buffer.from(base64, 'base64')),
  };
}

/** Every form of every secret, sorted by how the masker finds them. */
export interface PreparedForms {
  /** Forms shorter than MIN_STRETCH: masked where they appear whole. */
  short: Set<string>;
  /** Forms of MIN_STRETCH or more: masked by stretches (see createStretchIndex). */
  long: LongForm[];
  /** Parallel to `long`: a form that repeats the one before it except at its end. */
  tailOnly: boolean[];
}

/** Lists the forms of every secret once (see textForms and fileForms), within one job's budget of derived forms. */
export function prepareForms(secrets: MaskSecrets): PreparedForms {
  const budget = new DerivedBudget();
  const prepared: PreparedForms = { short: new Set(), long: [], tailOnly: [] };
  const longTexts = new Set<string>();
  const add = (forms: Forms): void => {
    for (const text of forms.texts) {
      if (text.length < MIN_STRETCH) prepared.short.add(text);
      else if (!longTexts.has(text)) {
        longTexts.add(text);
        prepared.long.push(textForm(text));
        prepared.tailOnly.push(false);
      }
    }
    if (forms.encoded === undefined) return;
    for (const withNewline of forms.withNewline === true ? [false, true] : [false]) {
      if (base64Length(forms.encoded.length + (withNewline ? 1 : 0)) < MIN_STRETCH) {
        const bytes = withNewline ? Buffer.concat([forms.encoded, Buffer.from('\n')]) : forms.encoded;
        for (const text of shortBase64Forms(bytes)) if (isLongEnough(text)) prepared.short.add(text);
      } else {
        prepared.long.push(base64Form(forms.encoded, withNewline));
        prepared.tailOnly.push(withNewline);
      }
    }
  };
  for (const text of secrets.texts) add(textForms(text, MIN_STRETCH, budget));
  for (const bytes of secrets.files) add(fileForms(bytes, MIN_STRETCH, budget));
  return prepared;
}
