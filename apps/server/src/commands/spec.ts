import type { ClientDeps, CommandRunner, CommandSpec as KernelCommandSpec, ProgramIo } from '@panda-secrets/cli-kit';

/** Everything panda-server takes from its process, injected so every command runs in tests. */
export interface ServerDeps extends ProgramIo {
  /**
   * Resolves on the first SIGTERM or SIGINT after it is called, when `serve` closes and exits; a
   * second one ends the process at once.
   */
  waitForStop(): Promise<void>;
}

/** What a command runs with: panda-server makes no API client. */
export type Deps = ServerDeps & ClientDeps<never>;

/** panda-server has no options of its own: each command declares what it takes. */
export type GlobalOptions = Record<string, never>;

/** A panda-server command, as cli-kit's runProgram runs it. */
export type CommandSpec<Options> = KernelCommandSpec<Deps, GlobalOptions, Options>;

/** A command's work: everything it needs comes in through `deps`. */
export type Runner<Options> = CommandRunner<Deps, GlobalOptions, Options>;
