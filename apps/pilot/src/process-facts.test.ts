import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { hostProcess } from './process-facts.js';

/** The start time /proc gives process `pid` (the 22nd field of its stat). */
async function startTime(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('hostProcess.identity', () => {
  it('names this process by its pid and start time, the same at every call', async () => {
    const expected = `${process.pid} ${await startTime(process.pid)}`;
    expect(await hostProcess.identity(process.pid)).toBe(expected);
    expect(await hostProcess.identity(process.pid)).toBe(expected);
  });

  it('names another process by its own start time while it runs, and by nothing once it is gone', async () => {
    await hostProcess.identity(process.pid);
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = child.pid!;
    expect(await hostProcess.identity(pid)).toBe(`${pid} ${await startTime(pid)}`);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await hostProcess.identity(pid)).toBeUndefined();
  });
});
