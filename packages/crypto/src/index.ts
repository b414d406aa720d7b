export { generateKeyring, rotateKeyring, serializeKeyring, parseKeyring } from './keyring.js';
export type { MasterKey, Keyring } from './keyring.js';
export { encryptAtRest, decryptAtRest } from './at-rest.js';
export type { SecretAddress } from './at-rest.js';
