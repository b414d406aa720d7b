import { type StoreArgs, readStoreArgs, storeOptions } from '../options.js';
import type { CommandSpec } from '../spec.js';

export const rotateKeyCommand: CommandSpec<StoreArgs> = {
  command: 'rotate-key',
  describe: 'Add a new master key and re-encrypt every secret under it',
  builder: storeOptions,
  options: readStoreArgs,
  examples: [['$0 rotate-key --data-dir ./.panda-server', 're-encrypt every secret under a new master key']],
  load: async () => (await import('./run.js')).runRotateKey,
};
