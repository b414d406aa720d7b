import type { Argv } from 'yargs';
import type { Deps, GlobalOptions } from '../deps.js';

/** A command's work: everything it needs comes in through `deps`. */
export type Runner<T> = (deps: Deps, global: GlobalOptions, options: T) => Promise<void>;

/**
 * A command as the entry point registers it: yargs parses with `builder`, `options` turns the
 * parsed arguments into the command's options type, and `load` imports the run function only
 * when the command runs, so `--help` loads little.
 */
export interface CommandSpec<T> {
  command: string;
  describe: string;
  builder(yargs: Argv): Argv;
  options(argv: Record<string, unknown>): T;
  load(): Promise<Runner<T>>;
  /** Command lines with what each does, under "Examples:" in the command's help. */
  examples: ReadonlyArray<readonly [command: string, meaning: string]>;
  /** A line added under the error when yargs refuses this command's command line. */
  usageHint?: string;
}

/** A parsed string option that may be absent. */
export function optionalString(value: unknown): string | undefined {
  return value === undefined ? undefined : String(value);
}
