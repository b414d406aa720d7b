import type { CommandRunner, CommandSpec as KernelCommandSpec } from '@panda-secrets/cli-kit';
import type { Deps, GlobalOptions } from '../deps.js';

/** A pbook command, as cli-kit's runProgram runs it: with pbook's deps and global options. */
export type CommandSpec<Options> = KernelCommandSpec<Deps, GlobalOptions, Options>;

/** A command's work: everything it needs comes in through `deps`. */
export type Runner<Options> = CommandRunner<Deps, GlobalOptions, Options>;
