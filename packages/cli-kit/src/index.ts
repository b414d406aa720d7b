export { reportError, runProgram } from './program.js';
export type { ErrorReport, OutputStreams, ParserSettings, Program } from './program.js';
export { addConnectionOptions, readConnectionOptions } from './connection.js';
export type { ConnectionFlags, ConnectionOptionsSettings } from './connection.js';
export { EXIT_CODES_HELP, epilogue } from './help.js';
export type { EpilogueText } from './help.js';
export { cliContext } from './entry.js';
export type { CliContext, CliDeps, CliProcess, ClientModule } from './entry.js';
