import type { ClientOptions, PandaClient } from '@panda-secrets/client';
import type { CliDeps, ClientDeps, ConnectionFlags } from '@panda-secrets/cli-kit';

/** The client calls pbook makes; unit tests pass a fake with these methods. */
export type SecretsClient = Pick<
  PandaClient,
  'setSecret' | 'deleteSecret' | 'deleteAllSecrets' | 'getSecrets' | 'getSecretsMetadata' | 'importSecrets'
>;

/** The bookkeeping calls of pbook's task commands. */
export type TasksClient = Pick<PandaClient, 'listTasks' | 'getTask' | 'killTask' | 'retryTask' | 'getTaskJobLog'>;

/** Every client call pbook makes. */
export type PbookClient = SecretsClient & TasksClient;

/** What pbook asks of a path's `stat`: its size and what kind of thing it is. */
export type FileStat = Pick<
  import('node:fs').Stats,
  'size' | 'isFile' | 'isFIFO' | 'isCharacterDevice' | 'isDirectory'
>;

/** The file operations pbook needs: `stat` first, so an oversize file is never read. */
export interface FileSystem {
  stat(path: string): Promise<FileStat>;
  readFile(path: string): Promise<Uint8Array>;
  /** A pipe or a device, read as it comes: it has no size to check beforehand. */
  createReadStream(path: string): NodeJS.ReadableStream;
}

/**
 * Questions asked on the terminal; only called when stdin is a TTY. Ctrl-C at any of them throws
 * an INTERRUPTED error (exit 130), so the command stops with nothing changed.
 */
export interface Prompter {
  /** Reads a line without echoing it; null when Ctrl-D ends the input instead of a line. */
  secret(question: string): Promise<string | null>;
  /** Asks a yes/no question whose default is no; Ctrl-D answers no. */
  confirm(question: string): Promise<boolean>;
}

/** Everything pbook takes from the process, injected so every command runs in tests. */
export interface ProgramDeps extends CliDeps<ClientOptions, PbookClient> {
  stdin: NodeJS.ReadableStream;
  isTTY: { stdin: boolean; stdout: boolean };
  /**
   * stdout's width in columns now: a terminal can be resized between two listings of the shell.
   * Undefined when stdout is no terminal, 0 when the terminal does not say.
   */
  terminalWidth(): number | undefined;
  fs: FileSystem;
  prompt: Prompter;
  /** Waits between two reads of a log that `pbook log --follow` follows. */
  sleep(ms: number): Promise<void>;
}

/**
 * What pbook's commands run with: the process' deps and the client, made on first use and shared by
 * everything a command does (the shell's secret and task functions alike).
 */
export type Deps = ProgramDeps & ClientDeps<PbookClient>;

/** Options every command takes. */
export interface GlobalOptions extends ConnectionFlags {
  verbose: boolean;
  /** Colour in tables: not turned off by --no-color, on a terminal, without NO_COLOR (cli-kit's useColor). */
  color: boolean;
}
