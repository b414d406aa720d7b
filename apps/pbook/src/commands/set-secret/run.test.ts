import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_FILE_BYTES, MAX_VALUE_BYTES } from '@panda-secrets/protocol';
import type { FileSystem } from '../../deps.js';
import { localFiles } from '../../local-files.js';
import { FakeClient, regularFile, runCommand } from '../../testing/fakes.js';
import type { FakeSetup } from '../../testing/fakes.js';
import { runSetSecret } from './run.js';
import type { SetSecretOptions } from './index.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pbook-set-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function setSecret(options: Omit<SetSecretOptions, 'allowEmpty'> & { allowEmpty?: boolean }, setup: FakeSetup = {}) {
  return runCommand(runSetSecret, { allowEmpty: false, ...options }, { fs: localFiles, ...setup });
}

describe('an empty value', () => {
  it('is refused, from the hidden prompt, stdin or a file, and the old value stays', async () => {
    const tty = { stdin: true, stdout: true };
    for (const setup of [{ isTTY: tty, answers: [''] }, { stdin: '\n' }, { stdin: '' }]) {
      const client = new FakeClient();
      client.secrets.set('K', 'old value');
      const run = await setSecret({ name: 'K' }, { client, ...setup });
      expect(run.error).toMatchObject({
        code: 'INVALID_INPUT',
        message: 'no value given for K: nothing was stored (to store an empty value, pass --allow-empty)',
      });
      expect(client.secrets.get('K')).toBe('old value');
    }
  });

  it.each([
    ['Ctrl-D', null, 'INVALID_INPUT', 'no value given for K (Ctrl-D): nothing was stored'],
    ['Ctrl-C', 'ctrl-c', 'INTERRUPTED', 'cancelled (Ctrl-C): nothing was stored'],
  ])('is not an answer: %s at the prompt stores nothing, also with --allow-empty', async (_key, answer, code, message) => {
    const client = new FakeClient();
    client.secrets.set('K', 'old value');
    const run = await setSecret(
      { name: 'K', allowEmpty: true },
      { client, isTTY: { stdin: true, stdout: true }, answers: [answer] },
    );
    expect([run.error?.code, run.error?.message]).toEqual([code, message]);
    expect([client.secrets.get('K'), client.calls]).toEqual(['old value', []]);
  });

  it('is stored with --allow-empty, with the warning about short values', async () => {
    const run = await setSecret(
      { name: 'K', allowEmpty: true },
      { isTTY: { stdin: true, stdout: true }, answers: [''] },
    );
    expect(run.error).toBeUndefined();
    expect(run.client.secrets.get('K')).toBe('');
    expect(run.stderr).toContain('set K\n');
  });
});

describe('set-secret values', () => {
  it.each([
    ['value\n', 'value'],
    ['value\r\n', 'value'],
    ['value\n\n', 'value\n'],
    ['  spaced value  ', '  spaced value  '],
    ['multi\nline\n', 'multi\nline'],
  ])('reads piped stdin %j, dropping one trailing newline', async (stdin, value) => {
    const run = await setSecret({ name: 'K' }, { stdin });
    expect(run.error).toBeUndefined();
    expect(run.client.secrets.get('K')).toBe(value);
    expect(run.stderr).toBe('set K\n');
  });

  it('reads --value-file - from stdin even on a terminal', async () => {
    const run = await setSecret(
      { name: 'K', valueFile: '-' },
      { stdin: 'from-stdin\n', isTTY: { stdin: true, stdout: true } },
    );
    expect(run.client.secrets.get('K')).toBe('from-stdin');
    expect(run.questions).toEqual([]);
  });

  it('reads --value-file PATH', async () => {
    const path = join(dir, 'value.txt');
    await writeFile(path, 'café value\n');
    const run = await setSecret({ name: 'K', valueFile: path });
    expect(run.client.secrets.get('K')).toBe('café value');
  });

  it('asks without echo on a terminal, never printing the value', async () => {
    const run = await setSecret({ name: 'K' }, { isTTY: { stdin: true, stdout: true }, answers: ['typed-secret'] });
    expect(run.questions).toEqual(['Value of K: ']);
    expect(run.client.secrets.get('K')).toBe('typed-secret');
    expect(run.stdout + run.stderr).not.toContain('typed-secret');
  });

  it('warns that a value shorter than 4 characters is not masked', async () => {
    const run = await setSecret({ name: 'K' }, { stdin: 'abc' });
    expect(run.stderr).toBe(
      'set K\nwarning: the value of K is shorter than 4 characters, so it is not masked in job logs\n',
    );
  });

  it('checks the name before asking for the value', async () => {
    const run = await setSecret({ name: '1ABC' }, { isTTY: { stdin: true, stdout: true } });
    expect(run.error?.code).toBe('INVALID_NAME');
    expect(run.questions).toEqual([]);
  });

  it('accepts the largest value an environment variable can carry and rejects one byte more, sending nothing', async () => {
    const atLimit = `${'é'.repeat((MAX_VALUE_BYTES - 1) / 2)}x`;
    expect((await setSecret({ name: 'K' }, { stdin: `${atLimit}\n` })).client.secrets.get('K')).toBe(atLimit);
    const over = await setSecret({ name: 'K' }, { stdin: `${atLimit}x` });
    expect(over.error?.code).toBe('TOO_LARGE');
    expect(over.error?.message).toBe(
      'the value of "K" is 131070 bytes of UTF-8; an environment variable can carry at most 131069 bytes under this name ' +
        '(131072 bytes for NAME=value): store it as a secret file instead (at most 1024000 bytes, any bytes)',
    );
    expect(over.client.calls).toEqual([]);
  });

  it('rejects a value holding NUL with the rule, sending nothing', async () => {
    const run = await setSecret({ name: 'K' }, { stdin: 'nul-s3cr3t\0tail\n' });
    expect(run.error?.code).toBe('INVALID_INPUT');
    expect(run.error?.message).toBe(
      'the value of "K" holds a NUL character, which no environment variable can carry: store it as a secret file instead (at most 1024000 bytes, any bytes)',
    );
    expect(run.client.calls).toEqual([]);
  });

  it('rejects a stdin far over the limit without keeping it all', async () => {
    const run = await setSecret({ name: 'K' }, { stdin: Buffer.alloc(3 * MAX_VALUE_BYTES, 0x61) });
    expect(run.error?.code).toBe('TOO_LARGE');
    expect(run.error?.message).toBe(
      'the value of "K" (stdin) is over the 131069 bytes of UTF-8 an environment variable can carry: store it as a secret file with --file (at most 1024000 bytes)',
    );
  });

  it('rejects a value that is not UTF-8', async () => {
    const run = await setSecret({ name: 'K' }, { stdin: Buffer.from([0x61, 0xff]) });
    expect(run.error?.code).toBe('INVALID_INPUT');
    expect(run.error?.message).toBe(
      'the value of "K" (stdin) is not UTF-8 text; store binary data as a file with --file',
    );
  });
});

describe('set-secret --file', () => {
  it('sends the bytes in base64 under the file key, byte-exact', async () => {
    const bytes = Buffer.from([0, 1, 0xfe, 0xff, 0x0a, 0xc3, 0x28]);
    const path = join(dir, 'binary.dat');
    await writeFile(path, bytes);
    const run = await setSecret({ name: 'binary.dat', file: path });
    expect(run.error).toBeUndefined();
    expect(Buffer.from(run.client.secrets.get('___file___:binary.dat') ?? '', 'base64')).toEqual(bytes);
    expect(run.stderr).toBe('set file binary.dat (7 bytes)\n');
  });

  it('accepts a file of exactly 1,024,000 bytes', async () => {
    const path = join(dir, 'limit.dat');
    await writeFile(path, Buffer.alloc(MAX_FILE_BYTES, 7));
    const run = await setSecret({ name: 'limit.dat', file: path });
    expect(run.error).toBeUndefined();
    expect(Buffer.from(run.client.secrets.get('___file___:limit.dat') ?? '', 'base64').length).toBe(MAX_FILE_BYTES);
  });

  it('rejects a file of 1,024,001 bytes by its size, without reading it', async () => {
    const reads: string[] = [];
    const fs: FileSystem = {
      ...localFiles,
      stat: async () => regularFile(MAX_FILE_BYTES + 1),
      readFile: async (path) => {
        reads.push(path);
        return new Uint8Array();
      },
    };
    const run = await setSecret({ name: 'big.dat', file: '/data/big.dat' }, { fs });
    expect(run.error?.code).toBe('TOO_LARGE');
    expect(run.error?.message).toBe('the secret file "big.dat" is 1024001 bytes; the limit is 1024000 bytes (1000 kB)');
    expect(reads).toEqual([]);
    expect(run.client.calls).toEqual([]);
  });

  it('rejects a missing file, naming its path', async () => {
    const path = join(dir, 'missing.dat');
    const run = await setSecret({ name: 'x.dat', file: path });
    expect([run.error?.code, run.error?.message]).toEqual([
      'INVALID_INPUT',
      `cannot read the file "${path}": no such file`,
    ]);
  });

  it.each(['--file', '--value-file'])('%s rejects a directory, saying so', async (flag) => {
    const run = await setSecret(flag === '--file' ? { name: 'x.dat', file: dir } : { name: 'X', valueFile: dir });
    expect([run.error?.code, run.error?.message]).toEqual([
      'INVALID_INPUT',
      `cannot read the file "${dir}": it is a directory`,
    ]);
    expect(run.client.calls).toEqual([]);
  });

  it.each(['../x', 'a/b', '.', '..'])('rejects the file name %j before touching the file', async (name) => {
    const run = await setSecret({ name, file: join(dir, 'missing') });
    expect(run.error?.code).toBe('INVALID_NAME');
    expect(run.error?.message).toContain('a secret file name must be a plain file name');
  });
});

/** A named pipe at a new path, which `sh -c SCRIPT` (given it as $1) writes into, as `<(...)` would. */
function pipeWrittenBy(script: string): string {
  const path = join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
  execFileSync('mkfifo', [path]);
  // Its end does not matter: a writer that the reader left is ended by SIGPIPE.
  spawn('sh', ['-c', script, 'sh', path], { stdio: 'ignore' });
  return path;
}

describe('a pipe or a device as the file', () => {
  it('--value-file reads a pipe as it comes, dropping one trailing newline', async () => {
    const path = pipeWrittenBy('printf "piped value\\n\\n" > "$1"');
    const run = await setSecret({ name: 'K', valueFile: path });
    expect(run.error).toBeUndefined();
    expect(run.client.secrets.get('K')).toBe('piped value\n');
  });

  it('--file reads a pipe byte-exact', async () => {
    const path = pipeWrittenBy('printf "\\000\\377bytes" > "$1"');
    const run = await setSecret({ name: 'piped.dat', file: path });
    expect(run.error).toBeUndefined();
    expect(Buffer.from(run.client.secrets.get('___file___:piped.dat') ?? '', 'base64')).toEqual(
      Buffer.from([0, 0xff, ...Buffer.from('bytes')]),
    );
  });

  it.each([
    ['an endless pipe', () => pipeWrittenBy('yes > "$1"')],
    ['an endless character device', () => '/dev/zero'],
  ])('refuses %s once it is over the limit, storing nothing', async (_what, pathOf) => {
    const path = pathOf();
    const value = await setSecret({ name: 'K', valueFile: path });
    expect([value.error?.code, value.error?.message]).toEqual([
      'TOO_LARGE',
      `the value of "K" (file "${path}") is over the ${MAX_VALUE_BYTES} bytes of UTF-8 an environment variable can carry: ` +
        `store it as a secret file with --file (at most ${MAX_FILE_BYTES} bytes)`,
    ]);
    const file = await setSecret({ name: 'big.dat', file: path === '/dev/zero' ? path : pipeWrittenBy('yes > "$1"') });
    expect(file.error?.code).toBe('TOO_LARGE');
    expect(file.error?.message).toMatch(
      /^the secret file "big.dat" is \d+ bytes; the limit is 1024000 bytes \(1000 kB\)$/,
    );
    expect([value.client.calls, file.client.calls]).toEqual([[], []]);
  });
});
