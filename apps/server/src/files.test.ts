import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const FILES_MODULE = new URL('../dist/files.js', import.meta.url).href;

/** One process, as a starting server instance is: reads or creates the file, prints what it read. */
function racer(path: string, index: number): Promise<string> {
  const script = `
    const { readOrCreatePrivateFile } = await import(${JSON.stringify(FILES_MODULE)});
    const text = JSON.stringify({ racer: ${index}, padding: 'x'.repeat(4_000_000) });
    const { text: read, created } = await readOrCreatePrivateFile(${JSON.stringify(path)}, () => text);
    process.stdout.write(JSON.stringify({ length: read.length, head: read.slice(0, 20), created }));`;
  return run(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 1 << 20 }).then(
    ({ stdout }) => stdout,
  );
}

describe('readOrCreatePrivateFile', () => {
  it('lets processes race to one whole file, mode 0600, and leaves nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'panda-files-'));
    const path = join(dir, 'keyring.json');
    const results = (await Promise.all(Array.from({ length: 6 }, (_, index) => racer(path, index)))).map(
      (out) => JSON.parse(out) as { length: number; head: string; created: boolean },
    );
    const winner = await readFile(path, 'utf8');
    expect(results.map(({ length, head }) => ({ length, head }))).toEqual(
      Array(6).fill({ length: winner.length, head: winner.slice(0, 20) }),
    );
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(((await stat(path)).mode & 0o777).toString(8)).toBe('600');
    expect(await readdir(dir)).toEqual(['keyring.json']);
  });
});
