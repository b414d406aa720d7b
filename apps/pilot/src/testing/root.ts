import { lookupUser } from '../users.js';
import type { RunAsUser } from '../users.js';

let nobodyUser: Promise<RunAsUser> | undefined;

/** The unprivileged `nobody` user the --run-as tests hand jobs to. */
export function nobody(): Promise<RunAsUser> {
  nobodyUser ??= lookupUser('nobody');
  return nobodyUser;
}
