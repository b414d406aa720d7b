export { columnsOf, fitHelp, parseArguments, reportError, runProgram } from './program.js';
export type { ErrorReport, OutputStreams, ParserSettings, Program } from './program.js';
export { addConnectionOptions, readConnectionOptions } from './connection-flags.js';
export type { ConnectionFlags, ConnectionOptionsSettings } from './connection-flags.js';
export { EXIT_CODES_HELP, epilogue, examplesText, wrapHelp } from './help.js';
export type { EpilogueText } from './help.js';
export { DEFAULT_CONFIG_ROOT, TOKEN_CACHE_NAME, fileTokenCache, tokenCachePath } from './token-cache.js';
export { devicePromptText, showDevicePrompt } from './device-prompt.js';
export { cliContext, endQuietlyOnClosedOutput, processSignIn } from './entry.js';
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
export type { CliContext, CliDeps, CliProcess, ClientModule } from './entry.js';
export { createPrivateFile, writePrivateFile, writePrivateOutput } from './private-file.js';
