import { describe, expect, it } from '@jest/globals';
import { createMasker, maskerFactory } from './mask.js';
import { spawnSync } from 'node:child_process';
import {
  MAX_DERIVED_PER_JOB,
  MIN_LEAF_LENGTH,
  bundleMaskValues,
  fileForms,
  prepareForms,
  textForms,
} from './mask-forms.js';
import type { MaskSecrets } from './mask-forms.js';
import { MIN_STRETCH } from './stretch-index.js';

/** The forms of a text value that are written out (its base64 forms are computed while matching). */
const maskedForms = (value: string): string[] => textForms(value, MIN_STRETCH).texts;

function maskChunks(secrets: string[] | MaskSecrets, chunks: Array<string | Uint8Array>): string {
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
const MULTI_LINE =
  '-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34\nGkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----';
const TRICKY = 'p"a\\s$(touch pwned)`id`\nzwei €uro 😀\x7f';

describe('maskedForms', () => {
  it('lists the value, its lines, JSON-escaped and Python-escaped forms, and its bytes for base64', () => {
    const forms = textForms('é x"y\nline', MIN_STRETCH);
    expect(forms.texts).toEqual(
      expect.arrayContaining(['é x"y\nline', 'é x"y', 'line', 'é x\\"y\\nline', '\\u00e9 x\\"y\\nline']),
    );
    expect(forms.encoded).toEqual(Buffer.from('é x"y\nline'));
    expect(forms.withNewline).toBe(true);
    expect([...prepareForms({ texts: ['é x"y\nline'], files: [] }).short]).toEqual(
      expect.arrayContaining([
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
    expect(maskChunks([SECRET], [`${SECRET}, ${SECRET} and ${SECRET}.`])).toBe('***, *** and ***.');
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

  it('prefers the longest match when values contain each other', () => {
    expect(maskChunks(['abcd', 'abcdefgh'], ['xabcdefghx abcdx'])).toBe('x***x ***x');
    expect(maskChunks(['abcd', 'abcdefgh'], ['xabc', 'defg', 'hx'])).toBe('x***x');
  });

  it('masks overlapping and touching matches as one stretch, leaving no piece of either', () => {
    expect(maskChunks(['abcdef', 'cdefghijkl'], ['xx abcdefghijkl'])).toBe('xx ***');
    expect(maskChunks(['abcdefgh', 'efghijkl'], ['abcdefghijkl'])).toBe('***');
    expect(maskChunks(['aaaa'], ['aaaaaaaaa'])).toBe('***');
    expect(maskChunks([SECRET], [`${SECRET}${SECRET} and ${SECRET}.`])).toBe('*** and ***.');
    expect(maskChunks(['abcdef', 'ghijkl'], ['<abcdefghijkl>'])).toBe('<***>');
  });

  it.each([
    [['abcdef', 'cdefghijkl'], 'xx abcdefghijkl', 'xx ***'],
    [['abcdef', 'cdefghijkl', 'ijklmnop'], '[abcdefghijklmnop]', '[***]'],
    [['abcdef', 'ghijkl'], 'abcdefghijkl abcdef', '*** ***'],
    [['abcdefgh', 'cdef'], '-abcdefgh-cdef', '-***-***'],
  ])('merges overlapping secrets %j in %j whatever the split into two or three writes', (secrets, output, expected) => {
    for (let first = 0; first <= output.length; first += 1) {
      for (let second = first; second <= output.length; second += 1) {
        const chunks = [output.slice(0, first), output.slice(first, second), output.slice(second)];
        expect(maskChunks(secrets, chunks)).toBe(expected);
      }
    }
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

  it('holds back only from where a secret may be starting', () => {
    const masker = createMasker(['abcdefgh']);
    expect(masker.write('x'.repeat(100))).toBe('x'.repeat(100));
    expect(masker.write('xxab')).toBe('xx');
    expect(masker.write('cd')).toBe('');
    expect(masker.write('efgh!')).toBe('***!');
    expect(masker.write('abcdefgX and more')).toBe('abcdefgX and more');
    expect(masker.write('😀'.slice(0, 1))).toBe('');
    expect(masker.end()).toBe('\ud83d');
  });
});

/** Masks `output` by the definition: every character inside any occurrence of a form becomes part of one `***` per stretch. */
function referenceMask(patterns: string[], output: string): string {
  const covered = new Array<boolean>(output.length).fill(false);
  for (const pattern of patterns) {
    for (let at = output.indexOf(pattern); at !== -1; at = output.indexOf(pattern, at + 1))
      covered.fill(true, at, at + pattern.length);
  }
  return output.replace(/[^]/g, (char, at: number) => (covered[at] ? (at > 0 && covered[at - 1] ? '' : '***') : char));
}

describe('createMasker against the definition', () => {
  it('masks exactly the stretches covered by some form, whatever the chunking (seeded random cases)', () => {
    const random = seededRandom(7);
    const secrets = ['abcdef', 'cdefghijkl', 'ijklmn', 'xyzw', 'xyzwxyzw', SECRET];
    const forms = prepareForms({ texts: secrets, files: [] });
    expect(forms.long).toEqual([]);
    const patterns = [...forms.short];
    const pieces = [...secrets, 'abc', 'def', 'ghi', 'jkl', 'xyz', 'w', ' ', '\n', 'é', '😀', SECRET.slice(0, 5)];
    for (let round = 0; round < 300; round += 1) {
      let output = '';
      const length = 1 + Math.floor(random() * 25);
      for (let i = 0; i < length; i += 1) output += pieces[Math.floor(random() * pieces.length)];
      const chunks: string[] = [];
      for (let at = 0; at < output.length; ) {
        const size = 1 + Math.floor(random() * 12);
        chunks.push(output.slice(at, at + size));
        at += size;
      }
      expect(maskChunks(secrets, chunks)).toBe(referenceMask(patterns, output));
    }
  });
});

/** What `base64` (coreutils, 76 columns) and `openssl base64` (64 columns) print. */
const wrapped = (bytes: Buffer, width: number): string =>
  `${bytes
    .toString('base64')
    .replace(new RegExp(`.{${width}}`, 'g'), '$&\n')
    .replace(/\n$/, '')}\n`;

describe('the forms a payload prints secrets in', () => {
  const LONG = `long secret ${'0123456789abcdef'.repeat(12)} end`;

  it.each([
    76, 64, 60, 40,
  ])('masks base64 wrapped at %i columns, of the value and of the value with a newline, as one stretch', (width) => {
    for (const bytes of [Buffer.from(LONG), Buffer.from(`${LONG}\n`)]) {
      const printed = wrapped(bytes, width);
      expect(printed.split('\n').length).toBeGreaterThan(3);
      expect(maskChunks([LONG], [`b64:\n${printed}end\n`])).toBe('b64:\n***\nend\n');
      expect(maskChunks([LONG], [...`b64:\n${printed.replace(/\n/g, '\r\n')}`])).toBe('b64:\n***\r\n');
    }
  });

  it('masks the string leaves of a JSON value, as Python prints the parsed value or one field of it', () => {
    const dictionary = JSON.stringify({
      a_key: 'a_value',
      nested: { list: ['first-item', 7, 'ab'] },
      token: "it's a token",
    });
    // python3 -c 'import json, os; d = json.loads(os.environ["D"]); print(d); print(d["a_key"])'
    const printed =
      "{'a_key': 'a_value', 'nested': {'list': ['first-item', 7, 'ab']}, 'token': \"it's a token\"}\na_value\n";
    expect(maskChunks([dictionary], [printed])).toBe(
      "{'a_key': '***', 'nested': {'list': ['***', 7, 'ab']}, 'token': \"***\"}\n***\n",
    );
    expect(maskedForms('[["deeper", ["deeper-leaf", "short"]]]')).toEqual(
      expect.arrayContaining(['deeper', 'deeper-leaf']),
    );
    // Leaves shorter than six characters are ordinary words more often than secrets; keys are not leaves.
    expect(maskedForms('[["deeper", ["deeper-leaf", "short"]]]')).not.toContain('short');
    expect(maskedForms('{"a_key_name": 12345}')).toEqual(['{"a_key_name": 12345}', '{\\"a_key_name\\": 12345}']);
  });

  it("masks the single-quoted form bash's set -x prints", () => {
    const value = "it's a 'quoted' secret";
    // bash -c 'set -x; echo "$X"' writes: + echo 'it'\''s a '\''quoted'\'' secret'
    expect(maskChunks([value], ["+ echo 'it'\\''s a '\\''quoted'\\'' secret'\n"])).toBe("+ echo '***'\n");
  });
});

describe('the escapes of other languages and of bash', () => {
  it("masks Go's encoding/json form (\\u0026, \\u003c, \\u003e) and PHP's json_encode form (\\/, non-ASCII as \\uXXXX)", () => {
    const value = 'https://x.example/?a=1&b=<c>/é-token';
    // Go: json.Marshal(value); PHP: json_encode($value), and with JSON_UNESCAPED_UNICODE.
    const go = '"https://x.example/?a=1\\u0026b=\\u003cc\\u003e/é-token"';
    const php = '"https:\\/\\/x.example\\/?a=1&b=<c>\\/\\u00e9-token"';
    const phpUnicode = '"https:\\/\\/x.example\\/?a=1&b=<c>\\/é-token"';
    expect(maskChunks([value], [`go ${go}\nphp ${php}\nphp ${phpUnicode}\n`])).toBe('go "***"\nphp "***"\nphp "***"\n');
  });

  it.each([
    ['a control character', 's3cr3t\u0001with-ctrl', "$'***'"],
    ['an escape, DEL and a carriage return', 'k3y\u001b\u007f\r-end', "$'***'"],
    ['a tab and a quote (single-quoted)', "tab\there's-it", "'***'"],
  ])("masks what bash's set -x prints for a value with %s", (_name, value, shown) => {
    const traced = spawnSync('bash', ['-c', 'set -x; echo "$X" >/dev/null'], {
      env: { X: value, SHLVL: '1' },
      encoding: 'utf8',
    });
    expect(traced.stderr).not.toBe('');
    expect(maskChunks([value], [traced.stderr])).toBe(`+ echo ${shown}\n`);
  });
});

describe('long secrets, masked by stretches', () => {
  const LONG_FILE = Buffer.from(
    Array.from(
      { length: 400 },
      (_, line) => `line ${line}: ${'abcdefghijklmnopqrstuvwxyz'.slice(line % 20)}${line * 7919}`,
    ).join('\n'),
  );

  it('masks any 64 or more characters of a long form in a row, however much of it is printed', () => {
    const files = [LONG_FILE];
    const text = LONG_FILE.toString('utf8');
    expect(maskChunks({ texts: [], files }, [`head: ${text.slice(0, 100)}|`])).toBe('head: ***|');
    expect(maskChunks({ texts: [], files }, [`mid: ${text.slice(5000, 5064)}|`])).toBe('mid: ***|');
    expect(maskChunks({ texts: [], files }, [`b64: ${LONG_FILE.subarray(0, 3000).toString('base64')}|`])).toBe(
      'b64: ***|',
    );
    // Shorter pieces of a long form are not secrets by themselves: ordinary text stays readable.
    const partOfTwoLines = text.slice(text.indexOf('line 151') + 3, text.indexOf('line 152') + 3);
    expect(maskChunks({ texts: [], files }, [`${partOfTwoLines}|`])).toBe(`${partOfTwoLines}|`);
  });

  it('masks a long file printed whole across many writes, at every split of two', () => {
    const newMasker = maskerFactory({ texts: [], files: [LONG_FILE] });
    const maskAll = (chunks: Uint8Array[]): string => {
      const masker = newMasker();
      return chunks.map((chunk) => masker.write(chunk)).join('') + masker.end();
    };
    const output = Buffer.concat([Buffer.from('<'), LONG_FILE, Buffer.from('>')]);
    for (let split = 0; split <= output.length; split += 97) {
      expect(maskAll([output.subarray(0, split), output.subarray(split)])).toBe('<***>');
    }
    const chunks: Buffer[] = [];
    for (let at = 0; at < output.length; at += 1000) chunks.push(output.subarray(at, at + 1000));
    expect(maskAll(chunks)).toBe('<***>');
  });

  it('masks a repetitive long secret printed whole in one pass, not one per repetition', () => {
    const periodic = 'abcdefg'.repeat(40_000);
    const started = process.hrtime.bigint();
    expect(maskChunks([periodic], [`<${periodic}>`, `(${periodic.slice(0, 100_000)})`])).toBe('<***>(***)');
    expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(10);
  });

  it('passes whole lines on at once, holding back only an unfinished line, also with long secrets', () => {
    const masker = maskerFactory({ texts: [], files: [LONG_FILE] })();
    expect(masker.write('12345\n')).toBe('12345\n');
    expect(masker.write('Password: ')).toBe('');
    expect(masker.write('typed\n')).toBe('Password: typed\n');
    const text = LONG_FILE.toString('utf8');
    expect(masker.write(`x ${text.slice(0, 70)}`)).toBe('x ');
    expect(masker.write(`${text.slice(70, 200)}\n`)).toBe('***\n');
    expect(masker.end()).toBe('');
  });

  it('keeps set-up bounded for JSON arrays of many short strings: derived forms are capped, the index does not grow with leaves', () => {
    const random = seededRandom(12);
    const files = Array.from({ length: 5 }, () =>
      Buffer.from(JSON.stringify(Array.from({ length: 140_000 }, () => Math.floor(random() * 1e9).toString(36)))),
    );
    expect(files[0]!.length).toBeGreaterThan(900_000);
    const started = process.hrtime.bigint();
    const masker = createMasker({ texts: [], files });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // Before the bound, 30 such files took 197 s and 3.1 GB; five of them now take well under a second when idle.
    expect(seconds).toBeLessThan(30);
    const forms = prepareForms({ texts: [], files });
    expect(forms.short.size).toBeLessThan(3 * MAX_DERIVED_PER_JOB);
    const firstLeaf = (JSON.parse(files[0]!.toString()) as string[]).find((leaf) => leaf.length >= MIN_LEAF_LENGTH)!;
    expect(masker.write(`leaf ${firstLeaf}\nwhole ${files[4]!.toString().slice(1000, 2000)}\n`) + masker.end()).toBe(
      'leaf ***\nwhole ***\n',
    );
  }, 120_000);
});

describe('fileMaskedForms', () => {
  const BINARY = Buffer.concat([
    Buffer.from([0xff, 0xfe, 0]),
    Buffer.from('printable run\nline two\x01ab\x02'),
    Buffer.from([0x80, 0xc3]),
  ]);

  it('masks a text file as text', () => {
    expect(fileForms(Buffer.from('first line\nsecond line\n'), MIN_STRETCH)).toEqual(
      textForms('first line\nsecond line\n', MIN_STRETCH),
    );
  });

  it('masks a binary file in base64, decoded with U+FFFD, line by line, and in its printable runs', () => {
    const forms = fileForms(BINARY, MIN_STRETCH);
    const lossy = '\ufffd\ufffd\u0000printable run\nline two\u0001ab\u0002\ufffd\ufffd';
    expect(forms.texts).toEqual(
      expect.arrayContaining([lossy, 'line two\u0001ab\u0002\ufffd\ufffd', 'printable run', 'line two']),
    );
    expect(forms.texts).not.toContain('ab');
    expect(forms.encoded).toEqual(BINARY);
    expect([...prepareForms({ texts: [], files: [BINARY] }).short]).toEqual(
      expect.arrayContaining([BINARY.toString('base64'), BINARY.toString('base64url')]),
    );
  });

  it('masks a binary file as `cat` and `strings` print it', () => {
    const files = [BINARY];
    expect(maskChunks({ texts: [], files }, [Buffer.concat([Buffer.from('cat: '), BINARY, Buffer.from('\n')])])).toBe(
      'cat: ***\n',
    );
    expect(maskChunks({ texts: [], files }, ['strings: printable run\n'])).toBe('strings: ***\n');
  });
});

describe('bundleMaskValues', () => {
  it('lists the env values and the bytes of each file', () => {
    expect(
      bundleMaskValues({ env: { A: 'alpha' }, files: { 'bin.dat': Buffer.from([0xff, 0xfe]).toString('base64') } }),
    ).toEqual({
      texts: ['alpha'],
      files: [Buffer.from([0xff, 0xfe])],
    });
  });
});
