import { describe, expect, it } from '@jest/globals';
import {
  FILE_PREFIX,
  assertDatasetName,
  isLoopbackHost,
  MAX_FILE_BYTES,
  MAX_VALUE_BYTES,
  PandaError,
  parseWireKey,
  validateSecret,
  wireKey,
} from './index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as PandaError).code;
  }
  return undefined;
}

describe('secret names', () => {
  it.each(['MY_SECRET', '_x', 'a1', 'A'.repeat(255)])('accepts the env name %s', (name) => {
    expect(parseWireKey(name)).toEqual({ kind: 'env', name });
  });

  it.each(['1ABC', 'A-B', '', 'A B', 'A'.repeat(256), 'é', 'A\n'])('rejects the env name %j', (name) => {
    expect(() => parseWireKey(name)).toThrow(/a secret name must be an environment variable name/);
    expect(codeOf(() => parseWireKey(name))).toBe('INVALID_NAME');
  });

  it.each(['my_secret_file.dat', 'a-b.c', '.hidden', '..x'])('accepts the file name %s', (name) => {
    expect(parseWireKey(FILE_PREFIX + name)).toEqual({ kind: 'file', name });
    expect(wireKey({ kind: 'file', name })).toBe(FILE_PREFIX + name);
  });

  it.each(['../x', 'a/b', '.', '..', '', 'a b', 'x\0'])('rejects the file name %j', (name) => {
    expect(() => parseWireKey(FILE_PREFIX + name)).toThrow(/a secret file name must be a plain file name/);
  });
});

describe('secret sizes', () => {
  it('accepts a value of exactly the limit in UTF-8 bytes and rejects one byte more', () => {
    const atLimit = 'é'.repeat(MAX_VALUE_BYTES / 2);
    expect(validateSecret('K', atLimit).size).toBe(MAX_VALUE_BYTES);
    const over = `${atLimit}x`;
    expect(() => validateSecret('K', over)).toThrow(
      'the value of "K" is 1024001 bytes of UTF-8; the limit is 1024000 bytes (1000 kB)',
    );
  });

  it('measures files in raw bytes and decodes base64 strictly', () => {
    const exact = Buffer.alloc(MAX_FILE_BYTES, 0xff).toString('base64');
    expect(validateSecret(`${FILE_PREFIX}f`, exact).size).toBe(MAX_FILE_BYTES);
    const over = Buffer.alloc(MAX_FILE_BYTES + 1, 0).toString('base64');
    expect(() => validateSecret(`${FILE_PREFIX}f`, over)).toThrow(
      'the secret file "f" is 1024001 bytes; the limit is 1024000 bytes (1000 kB)',
    );
    expect(codeOf(() => validateSecret(`${FILE_PREFIX}f`, 'not base64!'))).toBe('INVALID_INPUT');
    expect(codeOf(() => validateSecret(`${FILE_PREFIX}f`, 'abc'))).toBe('INVALID_INPUT');
  });

  it('never puts the value into the message', () => {
    const value = `s3cr3t-${'v'.repeat(MAX_VALUE_BYTES)}`;
    try {
      validateSecret('K', value);
      throw new Error('expected a rejection');
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cr3t');
    }
  });
});

describe('validateSecret', () => {
  it('returns the bytes to store: UTF-8 of a value, the decoded bytes of a file', () => {
    expect(validateSecret('K', 'é').plaintext).toEqual(Buffer.from([0xc3, 0xa9]));
    const raw = Buffer.from([0, 255, 0xc3, 0x28]);
    const file = validateSecret(`${FILE_PREFIX}f.bin`, raw.toString('base64'));
    expect(file.plaintext).toEqual(raw);
    expect(file.size).toBe(4);
  });

  it('rejects a value that is not well-formed Unicode', () => {
    expect(() => validateSecret('K', 'a\ud800b')).toThrow(/not well-formed Unicode/);
  });
});

describe('isLoopbackHost', () => {
  it.each(['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]'])('treats %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(['0.0.0.0', '10.0.0.1', 'example.org', '127.0.0.1.evil.org', '::', 'localhost.evil.org'])('treats %s as reachable from elsewhere', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('assertDatasetName', () => {
  it('accepts PanDA-style dataset names and refuses others with the rule', () => {
    expect(() => assertDatasetName('user.jdoe.test_01:sub/')).not.toThrow();
    for (const name of ['', 'a b', 'x'.repeat(256), 'naïve']) {
      expect(() => assertDatasetName(name)).toThrow(/invalid output dataset name .*: use 1 to 255 letters, digits/);
    }
  });
});
