export { PandaClient } from './client.js';
export type { ClientOptions } from './client.js';
