/**
 * The helpers of unit tests, without the process and database support of the package's root:
 * importing them loads neither pg nor oidc-provider.
 */
export { pandaErrorOf } from './errors.js';
export { freePort } from './ports.js';
export { outputCollector } from './streams.js';
