import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localFiles } from '../../local-files.js';
import { FakeClient, runCommand } from '../../testing/fakes.js';
import { runImport } from './run.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pbook-import-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const DOTENV = [
  '# a comment',
  'export PLAIN=value',
  "SINGLE='no $expansion here'",
  'DOUBLE="tab\\tand\\nnewline"',
  'MULTI="first line',
  'second line"',
  'SPACED = padded   # trailing comment',
  '',
].join('\n');

describe('import', () => {
  it('reads a .env file as the dotenv package does and sets every secret in one call', async () => {
    const fake = new FakeClient();
    fake.secrets.set('PLAIN', 'old');
    const run = await runCommand(
      runImport,
      { file: await file('a.env', DOTENV), dryRun: false },
      { client: fake, fs: localFiles },
    );
    expect(run.error).toBeUndefined();
    expect(Object.fromEntries(fake.secrets)).toEqual({
      PLAIN: 'value',
      SINGLE: 'no $expansion here',
      // dotenv expands \n inside double quotes, and no other escape.
      DOUBLE: 'tab\\tand\nnewline',
      MULTI: 'first line\nsecond line',
      SPACED: 'padded',
    });
    expect(fake.calls).toEqual(['import PLAIN,SINGLE,DOUBLE,MULTI,SPACED']);
    expect(run.stderr).toBe(`imported 5 secrets from ${join(dir, 'a.env')} (4 added, 1 replaced)\n`);
  });

  it('refuses the whole file when one entry is invalid, naming every bad entry and no value', async () => {
    const fake = new FakeClient();
    const path = await file('bad.env', 'GOOD=hunter2-good\n1BAD=hunter2-bad\nALSO-BAD=x\n');
    const run = await runCommand(runImport, { file: path, dryRun: false }, { client: fake, fs: localFiles });
    expect(run.error).toMatchObject({ code: 'INVALID_INPUT' });
    expect(run.error?.message).toMatch(
      new RegExp(
        `^${path}: invalid secret name "1BAD".*\\(and 1 more: invalid secret name "ALSO-BAD".*\\); nothing was imported$`,
      ),
    );
    expect(run.error?.message).not.toContain('hunter2');
    expect(fake.calls).toEqual([]);
    expect(fake.secrets.size).toBe(0);
  });

  it('lists at most ten problems, and names a long key by its first 300 characters only', async () => {
    const fake = new FakeClient();
    const lines = Array.from({ length: 500 }, (_, index) => `${index}BAD=hunter2-${index}`);
    const long = `X-${'k'.repeat(5000)}`;
    const path = await file('many.env', `${long}=hunter2-long\n${lines.join('\n')}\n`);
    const run = await runCommand(runImport, { file: path, dryRun: false }, { client: fake, fs: localFiles });
    expect(run.error).toMatchObject({ code: 'INVALID_INPUT' });
    const message = run.error?.message ?? '';
    expect(message).toContain(`invalid secret name "X-${'k'.repeat(298)}..."`);
    expect(message).not.toContain('k'.repeat(299));
    expect(message).toContain('(and 500 more: invalid secret name "0BAD"');
    expect(message).toContain('invalid secret name "8BAD"');
    expect(message).not.toContain('"9BAD"');
    expect(message).toMatch(/; 491 not listed\); nothing was imported$/);
    expect(message.length).toBeLessThan(4000);
    expect(message).not.toContain('hunter2');
    expect(fake.calls).toEqual([]);
  });

  it('refuses a .env file defining __proto__, which the reader would silently drop', async () => {
    const fake = new FakeClient();
    for (const line of ['__proto__=hunter2-proto', 'export __proto__ = hunter2-proto', '  __proto__: hunter2-proto']) {
      const path = await file('proto.env', `GOOD=fine\n${line}\n`);
      const run = await runCommand(runImport, { file: path, dryRun: false }, { client: fake, fs: localFiles });
      expect(run.error).toMatchObject({ code: 'INVALID_INPUT' });
      expect(run.error?.message).toBe(
        `${path}: "__proto__" cannot be read from a .env file; set it with pbook set_secret, or import it from JSON; nothing was imported`,
      );
    }
    expect(fake.calls).toEqual([]);
    expect(fake.secrets.size).toBe(0);
  });

  it('refuses JSON it cannot parse by the position of the fault, never quoting the text around it', async () => {
    const fake = new FakeClient();
    const path = await file('unparsable.json', '[{"key": "TOKEN", "type": "env", "value": hunter2-unquoted}]');
    const run = await runCommand(runImport, { file: path, dryRun: false }, { client: fake, fs: localFiles });
    expect(run.error).toMatchObject({ code: 'INVALID_INPUT' });
    expect(run.error?.message).toMatch(
      new RegExp(
        `^${path} is not valid JSON( \\(at character \\d+\\))?; give the output of pbook list-secrets --json --full, or a .env file$`,
      ),
    );
    expect(`${run.error?.message}${run.stderr}`).not.toContain('hunter2');
    expect(fake.calls).toEqual([]);
  });

  it('shows with --dry-run what would be added, changed or left, and changes nothing', async () => {
    const fake = new FakeClient();
    fake.secrets.set('SAME', 'v');
    fake.secrets.set('CHANGED', 'old');
    const path = await file('dry.env', 'SAME=v\nCHANGED=new\nADDED=x\n');
    const run = await runCommand(runImport, { file: path, dryRun: true }, { client: fake, fs: localFiles });
    expect(run.stdout).toBe('= SAME\n~ CHANGED\n+ ADDED\n');
    expect(run.stderr).toBe('dry run: 1 to add, 1 to change, 1 unchanged; nothing was changed\n');
    expect(Object.fromEntries(fake.secrets)).toEqual({ SAME: 'v', CHANGED: 'old' });
    expect(fake.calls.filter((call) => call.startsWith('import'))).toEqual([]);
  });

  it('reads the JSON list-secrets --json --full prints, files included', async () => {
    const fake = new FakeClient();
    const backup = JSON.stringify([
      { key: 'A', type: 'env', value: 'a', size: 1, updatedAt: '2026-11-27T10:00:00.000Z' },
      { key: 'f.dat', type: 'file', value: 'AAE=', size: 2, updatedAt: '2026-11-27T10:00:00.000Z' },
    ]);
    const run = await runCommand(
      runImport,
      { file: await file('backup.json', backup), dryRun: false },
      { client: fake, fs: localFiles },
    );
    expect(run.error).toBeUndefined();
    expect(Object.fromEntries(fake.secrets)).toEqual({ A: 'a', '___file___:f.dat': 'AAE=' });
    const broken = await runCommand(
      runImport,
      { file: await file('broken.json', '[{"key": "A"}]'), dryRun: false },
      { client: fake, fs: localFiles },
    );
    expect(broken.error?.message).toContain('"A" is not {"key": string, "type": "env" or "file", "value": string}');
  });
});
