export { PandaClient } from './client.js';
export type { ClientOptions } from './client.js';
export { noTokenMessage, readTokenFile, resolveClientOptions, tokenFileOf } from './connection.js';
export type { ConnectionOptions, ConnectionSource, TokenFile, TokenRole } from './connection.js';
