import { optionalString } from '@panda-secrets/cli-kit';
import type { Role } from '@panda-secrets/protocol';
import { dataDirOptions, issuerOptions, readStoreArgs, type StoreArgs } from '../options.js';
import type { CommandSpec } from '../spec.js';

export interface TokenOptions extends StoreArgs {
  user: string;
  role: Role;
  /** The lifetime as given: 90s, 30m, 1h, 7d. */
  ttl: string;
  name?: string;
  groups: string[];
  /** The file to write the token to instead of stdout. */
  out?: string;
}

export const tokenCommand: CommandSpec<TokenOptions> = {
  command: 'token',
  describe: 'Print an ID token from the local issuer (run panda-server once first: it creates the issuer key)',
  builder: (parser) =>
    issuerOptions(dataDirOptions(parser))
      .option('user', { type: 'string', demandOption: true, describe: 'User name (sub and preferred_username)' })
      .option('role', {
        choices: ['user', 'pilot'] as const,
        default: 'user' as const,
        describe: 'pilot: a token that can only acquire and update jobs',
      })
      .option('ttl', { type: 'string', default: '1h', describe: 'Lifetime: 90s, 30m, 1h, 7d' })
      .option('name', { type: 'string', describe: 'Display name (default: the user name)' })
      .option('groups', { type: 'string', default: '', describe: 'Comma-separated groups claim' })
      .option('out', {
        type: 'string',
        requiresArg: true,
        describe: 'Write the token to this file (mode 0600; a symbolic link is refused) instead of stdout',
      }),
  options: (argv) => {
    const name = optionalString(argv.name);
    const out = optionalString(argv.out);
    return {
      ...readStoreArgs(argv),
      user: String(argv.user),
      role: argv.role === 'pilot' ? 'pilot' : 'user',
      ttl: String(argv.ttl),
      ...(name === undefined ? {} : { name }),
      groups: String(argv.groups)
        .split(',')
        .map((group) => group.trim())
        .filter(Boolean),
      ...(out === undefined ? {} : { out }),
    };
  },
  examples: [
    ['$0 token --user jdoe --out ~/.panda-token', 'a user token, valid 1 hour, written to a 0600 file'],
    ['$0 token --user pilot-1 --role pilot --ttl 7d --out ~/.pilot-token', 'a pilot token valid 7 days'],
  ],
  load: async () => (await import('./run.js')).runToken,
};
