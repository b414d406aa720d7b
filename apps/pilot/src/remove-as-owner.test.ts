import { describe, expect, it } from '@jest/globals';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJobDir, removeJobDir } from './job-dir.js';
import { removeEntries } from './remove-as-owner.js';
import { writeSecretFiles } from './secret-files.js';
import { base64, freshDirEachTest } from './testing/files.js';

let root: string;
freshDirEachTest('pilot-remove-as-owner-test-', (dir) => {
  root = dir;
});

describe('clean-up', () => {
  it('removes the secret files, also ones the payload deleted or replaced by a directory', async () => {
    const dir = await createJobDir(root, 'j');
    const paths = await writeSecretFiles(dir, { 'a.dat': base64('a'), 'b.dat': base64('b'), 'c.dat': base64('c') });
    await rm(paths[1]!);
    await rm(paths[2]!);
    await mkdir(join(paths[2]!, 'inner'), { recursive: true });
    await writeFile(join(dir, 'output.txt'), 'result');
    await removeEntries(dir, paths);
    expect(await readdir(dir)).toEqual(['output.txt']);
    await removeJobDir(dir);
    expect(await readdir(root)).toEqual([]);
  });
});
