import type { GlobalOptions, PbookClient, ProgramDeps } from './deps.js';

/**
 * Makes pbook's client for runProgram's `deps.client()`, which calls it on first use only, so that
 * `help()` needs no token and `--help` loads neither the client nor got: the server, token and VO
 * from the flags, PanDA's environment variables or the saved sign-in.
 */
export async function connect(deps: ProgramDeps, options: GlobalOptions): Promise<PbookClient> {
  const { resolveClientOptions } = await import('@panda-secrets/client');
  const source = { env: deps.env, readFile: (path: string) => deps.fs.readFile(path), signIn: deps.signIn };
  return deps.createClient(await resolveClientOptions(source, options));
}
