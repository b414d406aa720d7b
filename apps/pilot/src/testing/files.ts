import { afterEach, beforeEach } from '@jest/globals';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Gives each test of the file a fresh folder in the system's temporary one (through `use`), removed after it. */
export function freshDirEachTest(prefix: string, use: (dir: string) => void): void {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    use(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
}

export const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
export const base64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64');
