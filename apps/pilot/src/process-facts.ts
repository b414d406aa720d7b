import { readFile } from 'node:fs/promises';

/**
 * What the work root's checks and the job directories take from the process they run in, passed
 * in so that tests can give other facts than their own process'.
 */
export interface ProcessFacts {
  /** The uid this process runs as; -1 where the platform has none. */
  uid: number;
  /** This process' pid. */
  pid: number;
  /**
   * Process `pid` as /proc knows it: its pid and its start time, which tells it from a later
   * process given the same pid; undefined when it cannot be read (no such process, no /proc).
   */
  identity(pid: number): Promise<string | undefined>;
}

async function processIdentity(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    // The fields after the command's closing parenthesis start with the 3rd (the state); the start time is the 22nd.
    const [state, ...fields] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (killed, not yet reaped) removes nothing any more.
    const startTime = state === 'Z' || state === 'X' ? undefined : fields[18];
    return startTime === undefined ? undefined : `${pid} ${startTime}`;
  } catch {
    return undefined;
  }
}

/** This process' own identity once read: it stays the same while the process lives. */
let ownIdentity: string | undefined;

/** The facts of the process this code runs in. */
export const hostProcess: ProcessFacts = {
  uid: process.getuid?.() ?? -1,
  pid: process.pid,
  // A supervisor names itself in the owner file of each job: /proc is read for its first job only.
  identity: async (pid) => {
    if (pid !== process.pid) return processIdentity(pid);
    ownIdentity ??= await processIdentity(pid);
    return ownIdentity;
  },
};
