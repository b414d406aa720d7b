import { randomInt } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

// A payload's processes live in their own PID namespace, where their pids mean nothing to the
// tests: tests mark them with a unique sleep duration instead and look for it in /proc.

const markers: string[] = [];

/** A sleep duration (seconds) no other process uses: its text marks the processes of one test. */
export function newMarker(): string {
  const marker = `1000.${randomInt(100_000, 999_999)}`;
  markers.push(marker);
  return marker;
}

/** What a test looks at of a process in /proc. */
interface ProcessEntry {
  state: string;
  parent: number;
  args: string[];
}

/** The pids of the processes in /proc that `accept` takes; one that is gone meanwhile is left out. */
function processesWhere(accept: (entry: ProcessEntry) => boolean): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // The fields after the command's closing parenthesis: its state, then its parent's pid.
      const [state = '', parent = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 2);
      const args = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0');
      if (accept({ state, parent: Number(parent), args })) found.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** The live processes (not zombies) with one of `marks` as an argument. */
export function markedProcesses(...marks: string[]): number[] {
  return processesWhere(({ state, args }) => state !== 'Z' && args.some((arg) => marks.includes(arg)));
}

/** The pids of the children of process `parent` whose command line holds `script`. */
export function childrenRunning(parent: number, script: string): number[] {
  return processesWhere((entry) => entry.parent === parent && entry.args.join('\0').includes(script));
}

/** Kills what a failed test left of the processes marked so far, so that no test leaves a process behind. */
export function killMarkedProcesses(): void {
  for (const pid of markedProcesses(...markers)) process.kill(pid, 'SIGKILL');
}

/** Waits until `condition` holds, for at most `ms` (the machine may be loaded), and says whether it did. */
export async function eventually(condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await delay(50)) {
    if (await condition()) return true;
  }
  return condition();
}
