/**
 * Finds long secrets in output by stretches: any run of at least MIN_STRETCH characters of a
 * long form, however much of the form is printed, becomes one masked stretch, extended as far as
 * the output goes on matching that form. The index holds one short anchor every ANCHOR_STRIDE
 * characters of each form (a hashed fixed-length substring), so its size grows with the secrets'
 * bytes divided by the stride, not with the number of forms, lines or leaves; each output
 * position costs one rolling-hash step and one table look-up.
 */

/** Forms at least this long are masked by stretches of at least this many characters. */
export const MIN_STRETCH = 64;
/** The length of an anchor: long enough that an anchor of a secret rarely occurs by chance. */
const ANCHOR_LENGTH = 16;
/** Every window of MIN_STRETCH characters of a form holds a whole anchor at a multiple of this. */
const ANCHOR_STRIDE = MIN_STRETCH - ANCHOR_LENGTH + 1;

const HASH_BASE = 0x01000193;
const GOLDEN = 0x9e3779b1;
const NEWLINE = 10;
const RETURN = 13;

/** Base64url's two letters are read as standard base64's, so one form serves both alphabets. */
function canonical(code: number): number {
  if (code === 45) return 43; // '-' as '+'
  if (code === 95) return 47; // '_' as '/'
  return code;
}

/** A form read code unit by code unit: a stored string, or base64 computed from bytes. */
export interface LongForm {
  readonly length: number;
  codeAt(index: number): number;
  /** Line breaks in the output are skipped inside a match (base64 wrapped at any width). */
  readonly wrapped: boolean;
}

export function textForm(text: string): LongForm {
  return { length: text.length, codeAt: (index) => text.charCodeAt(index), wrapped: false };
}

const BASE64_CODES = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const PAD = 61;

/** The standard base64 of `bytes` (followed by a newline if `withNewline`), with padding, as codes computed on demand. */
export function base64Form(bytes: Uint8Array, withNewline = false): LongForm {
  const size = bytes.length + (withNewline ? 1 : 0);
  const byteAt = (index: number): number => (index >= size ? 0 : index < bytes.length ? bytes[index]! : NEWLINE);
  return {
    length: base64Length(size),
    wrapped: true,
    codeAt(index) {
      const group = 3 * (index >>> 2);
      const slot = index & 3;
      if (slot >= 2 && group + slot - 1 >= size) return PAD;
      const first = byteAt(group);
      const second = byteAt(group + 1);
      const third = byteAt(group + 2);
      const sextet =
        slot === 0
          ? first >> 2
          : slot === 1
            ? ((first & 3) << 4) | (second >> 4)
            : slot === 2
              ? ((second & 15) << 2) | (third >> 6)
              : third & 63;
      return BASE64_CODES[sextet]!;
    },
  };
}

/** The base64 length of `size` bytes with padding. */
export function base64Length(size: number): number {
  return 4 * Math.ceil(size / 3);
}

/** One stretch of output found to be (part of) a form. */
interface Stretch {
  start: number;
  end: number;
  /** The output ended inside the match while the form goes on: more output may extend it. */
  open: boolean;
}

interface Alignment {
  form: number;
  /** Output position minus form position. */
  shift: number;
  end: number;
}

function power(base: number, exponent: number): number {
  let result = 1;
  for (let i = 0; i < exponent; i += 1) result = Math.imul(result, base);
  return result;
}
const HASH_DROP = power(HASH_BASE, ANCHOR_LENGTH);

function anchorHash(form: LongForm, at: number): number {
  let hash = 0;
  for (let i = at; i < at + ANCHOR_LENGTH; i += 1) hash = (Math.imul(hash, HASH_BASE) + canonical(form.codeAt(i))) | 0;
  return hash;
}

function isUniform(form: LongForm, at: number): boolean {
  const first = form.codeAt(at);
  for (let i = at + 1; i < at + ANCHOR_LENGTH; i += 1) if (form.codeAt(i) !== first) return false;
  return true;
}

/**
 * Calls `visit` with the anchor offsets of a form, ascending: a multiple of the stride wherever
 * a window of MIN_STRETCH may start, plus the first and the last possible anchor. `tailOnly`
 * keeps those of the last MIN_STRETCH characters (a form that differs from another only at its end).
 */
function forEachAnchorOffset(length: number, tailOnly: boolean, visit: (offset: number) => void): void {
  const last = length - ANCHOR_LENGTH;
  const from = tailOnly ? Math.max(0, length - MIN_STRETCH) : 0;
  visit(from);
  let previous = from;
  for (let at = Math.ceil((from + 1) / ANCHOR_STRIDE) * ANCHOR_STRIDE; at <= last; at += ANCHOR_STRIDE) {
    visit(at);
    previous = at;
  }
  if (last > previous) visit(last);
}

function anchorCount(length: number, tailOnly: boolean): number {
  let count = 0;
  forEachAnchorOffset(length, tailOnly, () => {
    count += 1;
  });
  return count;
}

export interface StretchIndex {
  /** The stretches of `text` that match some form for at least MIN_STRETCH characters. */
  find(text: string, ended: boolean): Stretch[];
}

/**
 * Indexes `forms` (each at least MIN_STRETCH long). `tailOnly[i]` marks a form that repeats
 * another form except at its end (base64 of a value followed by a newline): only its end is indexed.
 */
export function createStretchIndex(forms: readonly LongForm[], tailOnly: readonly boolean[] = []): StretchIndex {
  let capacity = 0;
  for (const [index, form] of forms.entries()) capacity += anchorCount(form.length, tailOnly[index] === true);
  const hashes = new Int32Array(capacity);
  const formOf = new Int32Array(capacity);
  const offsetOf = new Int32Array(capacity);
  const next = new Int32Array(capacity);
  const bits = Math.max(4, Math.ceil(Math.log2(capacity + 1)));
  const heads = new Int32Array(1 << bits).fill(-1);
  let count = 0;
  for (const [formIndex, form] of forms.entries()) {
    forEachAnchorOffset(form.length, tailOnly[formIndex] === true, (offset) => {
      if (offset !== 0 && isUniform(form, offset)) return;
      const hash = anchorHash(form, offset);
      const bucket = Math.imul(hash, GOLDEN) >>> (32 - bits);
      // A substring that recurs in one form keeps two entries, its first occurrence and its
      // latest: from them a match extends to both ends of a repeated run, and a repetitive secret
      // adds no long chains. Entries go in at the head, so the latest is met first.
      let latest = -1;
      for (let entry = heads[bucket]!; entry !== -1; entry = next[entry]!) {
        if (hashes[entry] !== hash || formOf[entry] !== formIndex) continue;
        if (latest !== -1) {
          offsetOf[latest] = offset;
          return;
        }
        latest = entry;
      }
      hashes[count] = hash;
      formOf[count] = formIndex;
      offsetOf[count] = offset;
      next[count] = heads[bucket]!;
      heads[bucket] = count;
      count += 1;
    });
  }

  /** Extends the anchor match at output `at`, form position `offset`, both ways; returns the stretch or undefined. */
  function extend(text: string, form: LongForm, at: number, offset: number, ended: boolean): Stretch | undefined {
    const same = (code: number, formCode: number): boolean => (form.wrapped ? canonical(code) : code) === formCode;
    for (let i = 0; i < ANCHOR_LENGTH; i += 1)
      if (!same(text.charCodeAt(at + i), form.codeAt(offset + i))) return undefined;
    let end = at + ANCHOR_LENGTH;
    let formEnd = offset + ANCHOR_LENGTH;
    while (formEnd < form.length) {
      let probe = end;
      if (form.wrapped)
        while (probe < text.length && (text.charCodeAt(probe) === NEWLINE || text.charCodeAt(probe) === RETURN))
          probe += 1;
      if (probe >= text.length || !same(text.charCodeAt(probe), form.codeAt(formEnd))) {
        end = probe >= text.length ? probe : end;
        break;
      }
      end = probe + 1;
      formEnd += 1;
    }
    let start = at;
    let formStart = offset;
    while (formStart > 0) {
      let probe = start - 1;
      if (form.wrapped)
        while (probe >= 0 && (text.charCodeAt(probe) === NEWLINE || text.charCodeAt(probe) === RETURN)) probe -= 1;
      if (probe < 0 || !same(text.charCodeAt(probe), form.codeAt(formStart - 1))) break;
      start = probe;
      formStart -= 1;
    }
    const open = !ended && end >= text.length && formEnd < form.length;
    if (formEnd - formStart < MIN_STRETCH && !open) return undefined;
    // Trailing line breaks were only looked past: they are not part of the match.
    let matchEnd = end;
    while (
      matchEnd > start &&
      form.wrapped &&
      !open &&
      (text.charCodeAt(matchEnd - 1) === NEWLINE || text.charCodeAt(matchEnd - 1) === RETURN)
    ) {
      matchEnd -= 1;
    }
    return { start, end: matchEnd, open };
  }

  return {
    find(text, ended) {
      const found: Stretch[] = [];
      /** The alignments already extended whose stretch reaches the current position. */
      let active: Alignment[] = [];
      /** The end of the stretches found so far. */
      let covered = 0;
      let hash = 0;
      for (let at = 0; at + ANCHOR_LENGTH <= text.length; at += 1) {
        // Inside what is covered already, only the last 2 * MIN_STRETCH positions are looked at:
        // a stretch that goes on past the covered end holds a whole anchor there (twice the
        // stretch, for the line breaks of wrapped base64 and the anchors of a form indexed at its
        // end only), and so a repetitive secret printed whole costs one pass, not one per repetition.
        const resume = covered - 2 * MIN_STRETCH;
        if (at === 0 || at < resume) {
          at = Math.max(at, resume);
          hash = 0;
          for (let i = at; i < at + ANCHOR_LENGTH; i += 1)
            hash = (Math.imul(hash, HASH_BASE) + canonical(text.charCodeAt(i))) | 0;
        } else {
          hash =
            (Math.imul(hash, HASH_BASE) +
              canonical(text.charCodeAt(at + ANCHOR_LENGTH - 1)) -
              Math.imul(canonical(text.charCodeAt(at - 1)), HASH_DROP)) |
            0;
        }
        for (let entry = heads[Math.imul(hash, GOLDEN) >>> (32 - bits)]!; entry !== -1; entry = next[entry]!) {
          if (hashes[entry] !== hash) continue;
          const form = formOf[entry]!;
          const shift = at - offsetOf[entry]!;
          if (active.length > 0) active = active.filter((alignment) => alignment.end > at);
          if (active.some((alignment) => alignment.form === form && alignment.shift === shift)) continue;
          const stretch = extend(text, forms[form]!, at, offsetOf[entry]!, ended);
          if (stretch === undefined) continue;
          found.push(stretch);
          covered = Math.max(covered, stretch.end);
          active.push({ form, shift, end: Math.max(stretch.end, at + 1) });
        }
      }
      return found;
    },
  };
}
