export { columnsOf, fitHelp, parseArguments, reportError, runProgram } from './program.js';
export type { OutputStreams, ParserSettings, Program, ProgramIo } from './program.js';
export { optionalString } from './command.js';
export type { CommandRunner, CommandSpec, Examples } from './command.js';
export { lazyClient } from './lazy-client.js';
export type { ClientDeps, LazyClient } from './lazy-client.js';
export { addColorOption, addVerboseOption, useColor } from './output-flags.js';
export type { VerboseOptionSettings } from './output-flags.js';
export { addConnectionOptions, readConnectionOptions } from './connection-flags.js';
export type { ConnectionFlags, ConnectionOptionsSettings } from './connection-flags.js';
export { EXIT_CODES_HELP, epilogue, examplesText, wrapHelp } from './help.js';
export type { EpilogueText } from './help.js';
export { DEFAULT_CONFIG_ROOT, TOKEN_CACHE_NAME, fileTokenCache, tokenCachePath } from './token-cache.js';
export { devicePromptText, showDevicePrompt } from './device-prompt.js';
export { cliContext, clientMaking, endQuietlyOnClosedOutput, processSignIn } from './entry.js';
export type { CliContext, CliDeps, CliProcess, ClientMaking, ClientModule } from './entry.js';
export {
  COMPLETION_FLAG,
  COMPLETION_SHELLS,
  completionRequest,
  completionScript,
  completionShell,
  optionsFor,
} from './completion.js';
export type { CompletionShell } from './completion.js';
export { closestWord } from './suggest.js';
export { createPrivateFile, writePrivateFile, writePrivateOutput } from './private-file.js';
