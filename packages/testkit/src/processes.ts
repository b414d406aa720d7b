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

/** The live processes (not zombies) with one of `marks` as an argument. */
export function markedProcesses(...marks: string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat[stat.lastIndexOf(')') + 2] !== 'Z' && args.some((arg) => marks.includes(arg))) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** The pids of the children of process `parent` whose command line holds `script`. */
export function childrenRunning(parent: number, script: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
        const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parentPid === parent && readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(script);
      } catch {
        return false;
      }
    })
    .map(Number);
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
