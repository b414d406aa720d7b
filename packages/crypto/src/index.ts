export { generateKeyring, rotateKeyring, serializeKeyring, parseKeyring } from './keyring.js';
export type { MasterKey, Keyring } from './keyring.js';
export { encryptAtRest, decryptAtRest } from './at-rest.js';
export type { SecretAddress } from './at-rest.js';
export { generatePilotKeyPair, sealBundle, openBundle } from './bundle.js';
export type { PilotKeyPair } from './bundle.js';
