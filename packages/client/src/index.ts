export { PandaClient } from './client.js';
export type { ClientOptions } from './client.js';
export { noTokenMessage, resolveClientOptions } from './connection.js';
export type { ConnectionOptions, ConnectionSource, TokenRole } from './connection.js';
