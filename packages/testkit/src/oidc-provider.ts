import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Provider from 'oidc-provider';

/** A test account of the provider: its login is its `sub` and `preferred_username`. */
export interface TestAccount {
  login: string;
  name: string;
  groups: string[];
}

export interface OidcProviderOptions {
  clientId?: string;
  /**
   * Gives the client a secret (client_secret_post). Without it the client is public (auth method
   * none), as RFC 8628 foresees for devices and as PanDA's client needs: it sends no secret when
   * it asks for a device code.
   */
  clientSecret?: string;
  accounts?: TestAccount[];
  /** Seconds an ID token is valid (default 3600); changeable later with setTtl. */
  idTokenTtl?: number;
  /** Seconds a device code is valid (default 600). */
  deviceCodeTtl?: number;
}

export interface RunningOidcProvider {
  issuer: string;
  clientId: string;
  /** Empty for a public client. */
  clientSecret: string;
  /** Changes the lifetime of the ID tokens and device codes issued from now on. */
  setTtl(ttl: { idToken?: number; deviceCode?: number }): void;
  /** How many requests the token endpoint has answered so far. */
  tokenRequests(): number;
  /** Revokes a token (a refresh token) through the provider's revocation endpoint. */
  revoke(token: string): Promise<void>;
  /**
   * Completes a pending device sign-in as a person does in a browser, over HTTP through the
   * provider's own pages: opens `verificationUri`, types `userCode`, then confirms (or, with
   * `deny`, aborts), logs in as `login` and consents. Returns the last page's title.
   */
  completeDeviceSignIn(
    verificationUri: string,
    userCode: string,
    person: { login: string; deny?: boolean },
  ): Promise<string>;
  close(): Promise<void>;
}

export const DEFAULT_TEST_ACCOUNT: TestAccount = { login: 'jdoe', name: 'Jane Doe', groups: ['atlas', 'atlas/users'] };

/**
 * Starts panva's oidc-provider, a real OpenID provider, on a free loopback port: discovery, the
 * device flow (RFC 8628), refresh tokens (rotated, for the offline_access scope) and revocation,
 * with one confidential client and test accounts whose profile claims (name, preferred_username,
 * groups) are put into the ID token.
 *
 * @example
 * const idp = await startOidcProvider({ clientId: 'panda-cli', idTokenTtl: 5 });
 * await idp.completeDeviceSignIn(uri, code, { login: 'jdoe' });
 */
export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<RunningOidcProvider> {
  const clientId = options.clientId ?? 'panda-cli';
  const clientSecret = options.clientSecret ?? '';
  const accounts = new Map((options.accounts ?? [DEFAULT_TEST_ACCOUNT]).map((account) => [account.login, account]));
  const ttl = { idToken: options.idTokenTtl ?? 3600, deviceCode: options.deviceCodeTtl ?? 600 };
  let tokenRequests = 0;

  let handle: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) =>
    response.writeHead(503).end();
  const server: Server = createServer((request, response) => handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const issuer = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

  // oidc-provider's notices about its development defaults (in-memory store, its own pages) are
  // expected here; they are kept out of the test output while the provider runs.
  const consoleInfo = console.info;
  const consoleWarn = console.warn;
  const quiet =
    (write: (...args: unknown[]) => void) =>
    (...args: unknown[]): void => {
      if (!(typeof args[0] === 'string' && args[0].includes('oidc-provider '))) write(...args);
    };
  console.info = quiet(consoleInfo);
  console.warn = quiet(consoleWarn);

  const signingKey = {
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: randomUUID(),
    alg: 'RS256',
    use: 'sig',
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        ...(clientSecret === ''
          ? { token_endpoint_auth_method: 'none' }
          : { client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_post' }),
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomUUID()] },
    features: {
      deviceFlow: { enabled: true },
      revocation: { enabled: true, allowedPolicy: () => true },
      devInteractions: { enabled: true },
    },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups'], email: ['email'] },
    // The profile claims go into the ID token itself: panda-server reads them from there.
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, id: string) => {
      const account = accounts.get(id);
      if (account === undefined) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          preferred_username: id,
          name: account.name,
          groups: account.groups,
          email: `${id}@example.org`,
        }),
      };
    },
    issueRefreshToken: (
      _ctx: unknown,
      client: { grantTypeAllowed(grant: string): boolean },
      code: { scopes: Set<string> },
    ) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    ttl: {
      IdToken: () => ttl.idToken,
      DeviceCode: () => ttl.deviceCode,
      AccessToken: 3600,
      RefreshToken: 86_400,
      Grant: 86_400,
      Session: 86_400,
      Interaction: 3600,
    },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token' && ctx.method === 'POST') tokenRequests += 1;
    await next();
  });
  handle = provider.callback();

  return {
    issuer,
    clientId,
    clientSecret,
    setTtl(changes) {
      Object.assign(ttl, changes);
    },
    tokenRequests: () => tokenRequests,
    async revoke(token) {
      const response = await fetch(`${issuer}/token/revocation`, {
        method: 'POST',
        body: new URLSearchParams({
          token,
          client_id: clientId,
          ...(clientSecret === '' ? {} : { client_secret: clientSecret }),
        }),
      });
      if (response.status !== 200)
        throw new Error(`revocation failed: HTTP ${response.status} ${await response.text()}`);
    },
    completeDeviceSignIn: (verificationUri, userCode, person) => browseDeviceSignIn(verificationUri, userCode, person),
    close: () =>
      new Promise<void>((resolve) => {
        console.info = consoleInfo;
        console.warn = consoleWarn;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Page {
  url: string;
  html: string;
}

interface Form {
  action: string;
  fields: Record<string, string>;
}

/** The first form of a page, with the values of its inputs. */
function firstForm(page: Page): Form {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(page.html);
  if (form === null) throw new Error(`no form on ${page.url}: ${page.html.slice(0, 300)}`);
  const action = /action="([^"]*)"/i.exec(form[1] ?? '')?.[1] ?? page.url;
  const fields: Record<string, string> = {};
  for (const input of (form[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[1] ?? '')?.[1];
    if (name !== undefined) fields[name] = /value="([^"]*)"/i.exec(input[1] ?? '')?.[1]?.replace(/&amp;/g, '&') ?? '';
  }
  return { action: new URL(action.replace(/&amp;/g, '&'), page.url).href, fields };
}

function title(page: Page): string {
  return /<title>([^<]*)<\/title>/i.exec(page.html)?.[1] ?? '';
}

/** A browser reduced to what the provider's pages need: cookies, redirects and form posts. */
async function browseDeviceSignIn(
  verificationUri: string,
  userCode: string,
  person: { login: string; deny?: boolean },
): Promise<string> {
  const cookies = new Map<string, string>();
  const open = async (url: string, form?: Record<string, string>): Promise<Page> => {
    let next: { url: string; form?: Record<string, string> } = { url, ...(form ? { form } : {}) };
    for (let hops = 0; hops < 20; hops += 1) {
      const response = await fetch(next.url, {
        method: next.form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: {
          cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
          ...(next.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(next.form ? { body: new URLSearchParams(next.form).toString() } : {}),
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const at = pair.indexOf('=');
        cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        next = { url: new URL(location, next.url).href };
        continue;
      }
      return { url: next.url, html: await response.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  };

  let page = await open(verificationUri);
  const input = firstForm(page);
  page = await open(input.action, { ...input.fields, user_code: userCode });
  for (let step = 0; step < 10; step += 1) {
    const heading = title(page);
    if (heading === 'Sign-in Success' || !/<form\b/i.test(page.html)) return heading;
    const form = firstForm(page);
    if ('confirm' in form.fields && person.deny === true) {
      // The person presses "Abort" instead of "Continue".
      const { confirm: _continue, ...fields } = form.fields;
      return title(await open(form.action, { ...fields, abort: 'yes' }));
    }
    if ('confirm' in form.fields) {
      page = await open(form.action, form.fields);
    } else if (form.fields.prompt === 'login') {
      page = await open(form.action, { ...form.fields, login: person.login, password: 'any password' });
    } else {
      page = await open(form.action, form.fields);
    }
  }
  throw new Error(`the sign-in did not finish; last page: ${title(page)}`);
}
