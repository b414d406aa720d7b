/**
 * The program's API client, made on the first call and shared by everything a command does (gh's
 * `HttpClient func()`): the client package and got load only when a command talks to the server.
 */
export interface LazyClient<Client> {
  (): Promise<Client>;
  /** Drops the client: the next call makes a new one, reading the token anew (after a sign-in or sign-out). */
  reset(): void;
}

/** What runProgram adds to a program's deps for its commands. */
export interface ClientDeps<Client> {
  client: LazyClient<Client>;
}

/**
 * Memoises `make`. A failed attempt (say, no token yet) does not stick: the next call tries again,
 * as the pbook shell's next statement does.
 *
 * @example
 * const client = lazyClient(() => connect(deps, global));
 * await (await client()).getSecrets();
 */
export function lazyClient<Client>(make: () => Promise<Client>): LazyClient<Client> {
  let client: Promise<Client> | undefined;
  const connect = (): Promise<Client> => {
    if (client === undefined) {
      const pending = make();
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
