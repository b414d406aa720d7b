/**
 * The helpers of unit tests, without the process and database support of the package's root:
 * importing them loads neither pg nor oidc-provider.
 */
export { pandaErrorOf } from './errors.js';
export { freePort } from './ports.js';
export { outputCollector } from './streams.js';
export { childrenRunning, eventually, killMarkedProcesses, markedProcesses, newMarker } from './processes.js';
export { describeAsRoot } from './root.js';
export { SEED_SESSION } from './seed.js';
export { ExpectedCalls, Script, verifyFakesAfterEachTest } from './verify.js';
