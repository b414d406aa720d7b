import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import {
  FILE_PREFIX,
  assertDatasetName,
  isLoopbackHost,
  MAX_FILE_BYTES,
  MAX_ENV_ENTRY_BYTES,
  MAX_JOB_ENV_BYTES,
  MAX_VALUE_BYTES,
  assertJobEnvFits,
  envEntryBytes,
  maxEnvValueBytes,
  parseWireKey,
  validateSecret,
  wireKey,
  wireKeysOf,
} from './index.js';

describe('secret names', () => {
  it.each(['MY_SECRET', '_x', 'a1', 'A'.repeat(255)])('accepts the env name %s', (name) => {
    expect(parseWireKey(name)).toEqual({ kind: 'env', name });
  });

  it.each(['1ABC', 'A-B', '', 'A B', 'A'.repeat(256), 'é', 'A\n'])('rejects the env name %j', (name) => {
    expect(() => parseWireKey(name)).toThrow(/a secret name must be an environment variable name/);
    expect(() => parseWireKey(name)).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
  });

  it.each(['my_secret_file.dat', 'a-b.c', '.hidden', '..x'])('accepts the file name %s', (name) => {
    expect(parseWireKey(FILE_PREFIX + name)).toEqual({ kind: 'file', name });
    expect(wireKey({ kind: 'file', name })).toBe(FILE_PREFIX + name);
  });

  it.each(['../x', 'a/b', '.', '..', '', 'a b', 'x\0'])('rejects the file name %j', (name) => {
    expect(() => parseWireKey(FILE_PREFIX + name)).toThrow(/a secret file name must be a plain file name/);
  });

  it("stands a name for the env secret, else the secret file of that name (PanDA's fallback)", () => {
    expect(wireKeysOf('cfg.dat')).toEqual(['cfg.dat', `${FILE_PREFIX}cfg.dat`]);
    expect(wireKeysOf('MY_SECRET')).toEqual(['MY_SECRET', `${FILE_PREFIX}MY_SECRET`]);
    expect(wireKeysOf(`${FILE_PREFIX}cfg.dat`)).toEqual([`${FILE_PREFIX}cfg.dat`]);
  });
});

describe('secret sizes', () => {
  it('accepts a value whose NAME=value fits what execve passes (131072 bytes with its NUL), and no byte more', () => {
    const atLimit = `${'é'.repeat((MAX_VALUE_BYTES - 1) / 2)}x`;
    expect(validateSecret('K', atLimit).size).toBe(MAX_VALUE_BYTES);
    expect(envEntryBytes('K', MAX_VALUE_BYTES)).toBe(MAX_ENV_ENTRY_BYTES);
    expect(() => validateSecret('K', `${atLimit}x`)).toThrow(
      'the value of "K" is 131070 bytes of UTF-8; an environment variable can carry at most 131069 bytes under this name ' +
        '(131072 bytes for NAME=value): store it as a secret file instead (at most 1024000 bytes, any bytes)',
    );
    // The name counts too.
    const longName = 'N'.repeat(255);
    expect(maxEnvValueBytes(longName)).toBe(131072 - 257);
    expect(validateSecret(longName, 'v'.repeat(131072 - 257)).size).toBe(131072 - 257);
    expect(() => validateSecret(longName, 'v'.repeat(131072 - 256))).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE' }),
    );
  });

  it('delivers every value it accepts: the largest value spawns a process, one byte more fails with E2BIG', () => {
    const name = 'SOME_NAME';
    const atLimit = 'v'.repeat(maxEnvValueBytes(name));
    validateSecret(name, atLimit);
    const spawned = spawnSync('/bin/sh', ['-c', `test "\${#${name}}" = ${atLimit.length}`], {
      env: { [name]: atLimit },
    });
    expect([spawned.error, spawned.status]).toEqual([undefined, 0]);
    const refused = spawnSync('/bin/true', [], { env: { [name]: `${atLimit}v` } });
    expect((refused.error as NodeJS.ErrnoException | undefined)?.code).toBe('E2BIG');
  });

  it('refuses a value with a NUL character, which no environment can carry, without quoting it', () => {
    for (const value of ['\0', 's3cr3t\0tail', `${'x'.repeat(100)}\0`]) {
      expect(() => validateSecret('K', value)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
      expect(() => validateSecret('K', value)).toThrow(
        'the value of "K" holds a NUL character, which no environment variable can carry: store it as a secret file instead (at most 1024000 bytes, any bytes)',
      );
    }
    expect(validateSecret(`${FILE_PREFIX}f`, Buffer.from('a\0b').toString('base64')).size).toBe(3);
  });

  it('measures files in raw bytes and decodes base64 strictly', () => {
    const exact = Buffer.alloc(MAX_FILE_BYTES, 0xff).toString('base64');
    expect(validateSecret(`${FILE_PREFIX}f`, exact).size).toBe(MAX_FILE_BYTES);
    const over = Buffer.alloc(MAX_FILE_BYTES + 1, 0).toString('base64');
    expect(() => validateSecret(`${FILE_PREFIX}f`, over)).toThrow(
      'the secret file "f" is 1024001 bytes; the limit is 1024000 bytes (1000 kB)',
    );
    expect(() => validateSecret(`${FILE_PREFIX}f`, 'not base64!')).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
    expect(() => validateSecret(`${FILE_PREFIX}f`, 'abc')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    for (const bad of ['A===', 'AA=A', '====', 'AAAA====', 'AA-_', 'AA\nA'])
      expect(() => validateSecret(`${FILE_PREFIX}f`, bad)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    for (const [good, bytes] of [
      ['', 0],
      ['AA==', 1],
      ['AAA=', 2],
      ['AAAA', 3],
      ['+/+/', 3],
    ] as const) {
      expect(validateSecret(`${FILE_PREFIX}f`, good).size).toBe(bytes);
    }
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

describe('assertJobEnvFits', () => {
  it('counts each env secret as NAME=value, its NUL and a pointer, and names --secrets when they are too many', () => {
    const each = envEntryBytes('K_00', 100_000) + 8;
    const fitting = Array.from({ length: Math.floor(MAX_JOB_ENV_BYTES / each) }, (_, index) => ({
      name: `K_${String(index).padStart(2, '0')}`,
      size: 100_000,
    }));
    expect(() => assertJobEnvFits(fitting)).not.toThrow();
    const over = [...fitting, { name: 'K_99', size: 100_000 }];
    expect(() => assertJobEnvFits(over)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(() => assertJobEnvFits(over)).toThrow(
      `the job's 11 env secrets take ${11 * each} bytes of its environment together; at most 1048576 bytes fit beside the payload's own environment: name fewer with --secrets, or store large values as secret files`,
    );
  });

  it('refuses one env secret stored before its size was limited to what an environment variable can carry', () => {
    expect(() => assertJobEnvFits([{ name: 'OLD', size: 500_000 }])).toThrow(
      'the env secret "OLD" is 500000 bytes, more than an environment variable can carry (131067 bytes under this name): store it as a secret file instead (at most 1024000 bytes, any bytes), or leave it out with --secrets',
    );
    expect(() => assertJobEnvFits([{ name: 'OLD', size: 131_067 }])).not.toThrow();
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
  it.each([
    '0.0.0.0',
    '10.0.0.1',
    'example.org',
    '127.0.0.1.evil.org',
    '::',
    'localhost.evil.org',
  ])('treats %s as reachable from elsewhere', (host) => {
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
