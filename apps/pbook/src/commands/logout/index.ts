import type { CommandSpec } from '../spec.js';

export const logoutCommand: CommandSpec<Record<string, never>> = {
  command: 'logout',
  describe: "Forget the saved sign-in (remove PanDA's token cache)",
  builder: (yargs) => yargs,
  options: () => ({}),
  examples: [['$0 logout', 'remove the cached sign-in ($PANDA_CONFIG_ROOT/.token)']],
  load: async () => (await import('./run.js')).runLogout,
};
