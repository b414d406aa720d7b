import { readFile } from 'node:fs/promises';

/** The uid this process runs as; -1 where the platform has none. */
export function pilotUid(): number {
  return process.getuid?.() ?? -1;
}

/** A process as /proc knows it: its pid and its start time, which tells it from a later process given the same pid. */
export async function processIdentity(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    // The fields after the command's closing parenthesis start with the 3rd; the start time is the 22nd.
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return startTime === undefined ? undefined : `${pid} ${startTime}`;
  } catch {
    return undefined;
  }
}
