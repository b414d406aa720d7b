import type { Deps, GlobalOptions, PbookClient } from './deps.js';

/** The client made on first use; `reset()` drops it, so that the next call reads the token anew (after login or logout). */
export interface LazyClient {
  (): Promise<PbookClient>;
  reset(): void;
}

/**
 * The client, made on first use so that `help()` needs no token and `--help` loads neither the
 * client nor got. A failed attempt (say, no token yet) does not stick: the shell's next call tries
 * again.
 */
export function lazyClient(deps: Deps, options: GlobalOptions): LazyClient {
  let client: Promise<PbookClient> | undefined;
  const connect = (): Promise<PbookClient> => {
    if (client === undefined) {
      const source = { env: deps.env, readFile: (path: string) => deps.fs.readFile(path), signIn: deps.signIn };
      const pending = import('@panda-secrets/client')
        .then(({ resolveClientOptions }) => resolveClientOptions(source, options))
        .then((clientOptions) => deps.createClient(clientOptions));
      pending.catch(() => {
        if (client === pending) client = undefined;
      });
      client = pending;
    }
    return client;
  };
  return Object.assign(connect, {
    reset: () => {
      client = undefined;
    },
  });
}
