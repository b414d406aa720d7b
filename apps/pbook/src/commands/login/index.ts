import type { CommandSpec } from '../spec.js';

export const loginCommand: CommandSpec<Record<string, never>> = {
  command: 'login',
  describe: "Sign in anew with the identity provider the server names (device flow); saved in PanDA's token cache",
  builder: (yargs) => yargs,
  options: () => ({}),
  examples: [['$0 login', 'sign in with your identity provider (the device flow), even with a cached token']],
  load: async () => (await import('./run.js')).runLogin,
};
