// oidc-provider ships no type definitions; the tests use this much of it.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  interface KoaLike {
    use(middleware: (ctx: { path: string; method: string }, next: () => Promise<void>) => Promise<void>): void;
  }
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    use: KoaLike['use'];
  }
}
