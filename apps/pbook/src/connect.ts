import type { Deps, GlobalOptions, PbookClient } from './deps.js';

/**
 * The client, made on first use so that `help()` needs no token and `--help` loads neither the
 * client nor got. A failed attempt (say, no token yet) does not stick: the shell's next call tries
 * again.
 */
export function lazyClient(deps: Deps, options: GlobalOptions): () => Promise<PbookClient> {
  let client: Promise<PbookClient> | undefined;
  return () => {
    if (client === undefined) {
      const source = { env: deps.env, readFile: (path: string) => deps.fs.readFile(path) };
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
}
