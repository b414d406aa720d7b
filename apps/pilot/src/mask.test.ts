import { describe, expect, it } from '@jest/globals';
import { createMasker, maskedForms } from './mask.js';

function maskChunks(secrets: string[], chunks: Array<string | Uint8Array>): string {
  const masker = createMasker(secrets);
  return chunks.map((chunk) => masker.write(chunk)).join('') + masker.end();
}

/** A small seeded generator, so the property cases are the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SECRET = 'random_string';
const MULTI_LINE = '-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34\nGkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----';
const TRICKY = 'p"a\\s$(touch pwned)`id`\nzwei €uro 😀\x7f';

describe('maskedForms', () => {
  it('lists the value, its lines, JSON-escaped, Python-escaped and base64 forms', () => {
    const forms = maskedForms('é x"y\nline');
    expect(forms).toEqual(
      expect.arrayContaining([
        'é x"y\nline',
        'é x"y',
        'line',
        'é x\\"y\\nline',
        '\\u00e9 x\\"y\\nline',
        Buffer.from('é x"y\nline').toString('base64'),
        Buffer.from('é x"y\nline').toString('base64url'),
        Buffer.from('é x"y\nline\n').toString('base64'),
      ]),
    );
  });

  it('writes the ensure_ascii form exactly as Python json.dumps does', () => {
    // python3 -c "import json;print(json.dumps('é😀\"\\\\x\n\t\x01\x7f'))"
    expect(maskedForms('é😀"\\x\n\t\x01\x7f')).toContain('\\u00e9\\ud83d\\ude00\\"\\\\x\\n\\t\\u0001\\u007f');
  });

  it('skips values and lines shorter than four characters', () => {
    expect(maskedForms('abc')).toEqual([]);
    expect(maskedForms('😀😀😀')).toEqual([]);
    expect(maskedForms('ab\ncdef')).not.toContain('ab');
    expect(maskedForms('😀😀😀😀')).toContain('😀😀😀😀');
  });
});

describe('createMasker', () => {
  it('masks a value printed in one write', () => {
    expect(maskChunks([SECRET], [`MY_SECRET=${SECRET}\n`])).toBe('MY_SECRET=***\n');
  });

  it('masks every occurrence and leaves other text alone', () => {
    expect(maskChunks([SECRET], [`${SECRET}${SECRET} and ${SECRET}.`])).toBe('****** and ***.');
    expect(maskChunks([SECRET], ['nothing to hide\n'])).toBe('nothing to hide\n');
  });

  it.each([SECRET, MULTI_LINE, TRICKY])('masks %j split at every point across two writes', (value) => {
    const output = `before ${value} after`;
    for (let split = 0; split <= output.length; split += 1) {
      expect(maskChunks([value], [output.slice(0, split), output.slice(split)])).toBe('before *** after');
    }
  });

  it('masks a value split at every byte, also inside a multibyte character', () => {
    const bytes = Buffer.from(`[${TRICKY}]`, 'utf8');
    for (let split = 0; split <= bytes.length; split += 1) {
      expect(maskChunks([TRICKY], [bytes.subarray(0, split), bytes.subarray(split)])).toBe('[***]');
    }
  });

  it('masks a value arriving one character per write', () => {
    expect(maskChunks([TRICKY], [...`<${TRICKY}>`])).toBe('<***>');
  });

  it('masks each line, the JSON-escaped, Python-escaped and base64 forms of a multi-line value', () => {
    const lines = MULTI_LINE.split('\n');
    const printed = [
      `line: ${lines[1]}`,
      `json: ${JSON.stringify({ key: TRICKY })}`,
      // python3 -c 'import json; print(json.dumps(TRICKY))'
      'python: "p\\"a\\\\s$(touch pwned)`id`\\nzwei \\u20acuro \\ud83d\\ude00\\u007f"',
      `b64: ${Buffer.from(MULTI_LINE).toString('base64')}`,
      `b64url: ${Buffer.from(TRICKY).toString('base64url')}`,
      `echo|base64: ${Buffer.from(`${TRICKY}\n`).toString('base64')}`,
    ].join('\n');
    expect(maskChunks([MULTI_LINE, TRICKY], [printed])).toBe(
      ['line: ***', 'json: {"key":"***"}', 'python: "***"', 'b64: ***', 'b64url: ***', 'echo|base64: ***'].join('\n'),
    );
  });

  it('masks a value printed in two halves by two writes of the payload', () => {
    const half = Math.floor(SECRET.length / 2);
    expect(maskChunks([SECRET], [SECRET.slice(0, half), `${SECRET.slice(half)}\n`])).toBe('***\n');
  });

  it('prefers the longest match when values overlap or contain each other', () => {
    expect(maskChunks(['abcd', 'abcdefgh'], ['xabcdefghx abcdx'])).toBe('x***x ***x');
    expect(maskChunks(['abcdefgh', 'efghijkl'], ['abcdefghijkl'])).toBe('***ijkl');
    expect(maskChunks(['abcd', 'abcdefgh'], ['xabc', 'defg', 'hx'])).toBe('x***x');
    expect(maskChunks(['aaaa'], ['aaaaaaaaa'])).toBe('******a');
  });

  it('leaves values shorter than four characters unmasked', () => {
    expect(maskChunks(['abc', 'x'], ['abc x abcd'])).toBe('abc x abcd');
    expect(maskChunks([], ['plain'])).toBe('plain');
  });

  it('masks like a single write whatever the chunking (seeded random cases)', () => {
    const random = seededRandom(20261126);
    const secrets = [SECRET, MULTI_LINE, TRICKY, 'abcd', 'abcdabce'];
    const pieces = [...secrets, ...maskedForms(TRICKY), 'a', 'b', 'c', 'd', 'abc', ' ', '\n', 'é', '😀'];
    for (let round = 0; round < 200; round += 1) {
      let output = '';
      const length = 1 + Math.floor(random() * 20);
      for (let i = 0; i < length; i += 1) output += pieces[Math.floor(random() * pieces.length)];
      const bytes = Buffer.from(output, 'utf8');
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 40);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      const whole = maskChunks(secrets, [output]);
      expect(maskChunks(secrets, chunks)).toBe(whole);
      for (const secret of secrets) expect(whole).not.toContain(secret);
    }
  });

  it('holds back no more than a possible match and emits the rest at once', () => {
    // The longest form of 'abcdefgh' is its 12 characters of base64.
    const masker = createMasker(['abcdefgh']);
    expect(masker.write('x'.repeat(100))).toBe('x'.repeat(89));
    expect(masker.end()).toBe('x'.repeat(11));
  });
});
