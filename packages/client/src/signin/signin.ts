import { PandaError, VO_NAME_PATTERN, authConfigPath, type AuthConfig } from '@panda-secrets/protocol';
import { cacheText, parseTokenResponse, type CachedTokens, type TokenCacheFile } from './cache.js';
import { assertTrustedUrl, type OAuthHttp } from './http.js';
import { describeToken } from './tokens.js';

/** What a person needs to sign in on another device: where to go and which code to type. */
export interface DevicePrompt {
  verificationUri: string;
  /** The same page with the code filled in, when the provider offers one (for a link or QR code). */
  verificationUriComplete?: string;
  userCode: string;
  /** Seconds the code stays valid. */
  expiresIn: number;
}

/** What the sign-in takes from the program that runs it. */
export interface SignInSource {
  cache: TokenCacheFile;
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Shows the URL and code to a person; absent when nobody can see them (no terminal). */
  prompt?: (device: DevicePrompt) => void | Promise<void>;
  /** A progress message for the person (never a token). */
  say(message: string): void;
  /** Replaces the HTTP exchange (tests); by default got, with the trust of `ca`. */
  http?: OAuthHttp;
}

export interface SignInTarget {
  /** panda-server's URL: the auth config is on its root. */
  server: string;
  vo?: string;
  http: OAuthHttp;
  /** How to give a token instead ("give one with --token-file FILE, ..."), to end the messages with. */
  noTokenHint: string;
  /** The command that signs in (`pbook login`), for the messages. */
  loginCommand: string;
}

/** A cached ID token with less time than this left is renewed first, as PanDA's client does. */
export const RENEW_BEFORE_EXPIRY_MS = 5 * 60 * 1000;
/** RFC 8628's default polling interval, in seconds. */
const DEFAULT_INTERVAL_S = 5;
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface Endpoints {
  token: string;
  deviceAuthorization: string;
  revocation?: string;
}

interface Provider {
  config: AuthConfig;
  endpoints: Endpoints;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const PROVIDER = 'the identity provider';

/**
 * The sign-in of one program run: the token cache, PanDA's auth config on panda-server, the
 * provider's discovery document, renewal with the refresh token and the device flow (RFC 8628).
 */
export class SignIn {
  readonly #source: SignInSource;
  readonly #target: SignInTarget;
  #provider: Provider | undefined;

  constructor(source: SignInSource, target: SignInTarget) {
    this.#source = source;
    this.#target = target;
  }

  /**
   * An ID token: the cached one while it has at least five minutes left, else a renewed one, else
   * one from a new device flow (which needs `prompt`: without it, AUTH_REQUIRED at once).
   */
  async idToken(): Promise<string> {
    const cached = await this.readCache();
    const nowMs = this.#source.now();
    if (cached !== undefined && cached.expiresAt * 1000 - nowMs > RENEW_BEFORE_EXPIRY_MS) return cached.idToken;
    const provider = await this.#findProvider(cached !== undefined && cached.expiresAt * 1000 > nowMs);
    if (provider === undefined) return (cached as CachedTokens).idToken;
    if (cached?.refreshToken !== undefined) {
      const renewed = await this.#renew(provider, cached.refreshToken);
      if (renewed !== undefined) return renewed;
    }
    return this.#deviceFlow(provider);
  }

  /** A new device flow, whatever the cache holds (`pbook login`). */
  async signInAgain(): Promise<string> {
    return this.#deviceFlow((await this.#findProvider(false)) as Provider);
  }

  /**
   * The cache's tokens; undefined when there is none, and also when it is damaged or in a format
   * this client does not know, after saying so (it is then replaced at the next sign-in).
   */
  async readCache(): Promise<CachedTokens | undefined> {
    const { cache } = this.#source;
    let text: string | undefined;
    try {
      text = await cache.read();
    } catch (error) {
      this.#source.say(
        `warning: cannot read the saved sign-in ${cache.path} (${(error as Error).message}); ignoring it`,
      );
      return undefined;
    }
    if (text === undefined) return undefined;
    try {
      return parseTokenResponse(text, `the saved sign-in ${cache.path}`);
    } catch (error) {
      this.#source.say(
        `warning: ${(error as Error).message} (damaged, or written by another program); ignoring it, the next sign-in replaces it`,
      );
      return undefined;
    }
  }

  /**
   * The auth config and the provider's endpoints. With `optional`, a server that publishes no auth
   * config gives undefined (the cached token still serves); otherwise that is AUTH_REQUIRED.
   */
  async #findProvider(optional: boolean): Promise<Provider | undefined> {
    if (this.#provider !== undefined) return this.#provider;
    const { server, vo } = this.#target;
    const cannotSignIn = (why: string): PandaError =>
      new PandaError('AUTH_REQUIRED', `no token, and signing in is not possible: ${why}; ${this.#target.noTokenHint}`);
    if (vo === undefined) {
      if (optional) return undefined;
      throw cannotSignIn('signing in needs your VO (--vo or PANDA_AUTH_VO) to find the auth config');
    }
    if (!VO_NAME_PATTERN.test(vo))
      throw new PandaError('CONFIG', `the VO ${JSON.stringify(vo)} is no VO name: letters, digits, ".", "_" or "-"`);
    const url = new URL(authConfigPath(vo), assertTrustedUrl(server, 'the server address')).href;
    const response = await this.#target.http({ url }, 'panda-server');
    if (response.status === 404) {
      if (optional) return undefined;
      throw cannotSignIn(`${server} publishes no auth config for the VO ${JSON.stringify(vo)}`);
    }
    const config = parseJson(response.text);
    if (
      response.status !== 200 ||
      !isRecord(config) ||
      typeof config.client_id !== 'string' ||
      typeof config.oidc_config_url !== 'string'
    ) {
      throw new PandaError(
        'SERVER_ERROR',
        `${url} (HTTP ${response.status}) is no auth config: a JSON object with "client_id" and "oidc_config_url"`,
      );
    }
    const authConfig: AuthConfig = {
      client_id: config.client_id,
      client_secret: typeof config.client_secret === 'string' ? config.client_secret : '',
      audience: typeof config.audience === 'string' ? config.audience : '',
      oidc_config_url: config.oidc_config_url,
      ...(typeof config.jwt_profile === 'string' ? { jwt_profile: config.jwt_profile } : {}),
    };
    this.#provider = { config: authConfig, endpoints: await this.#discover(authConfig.oidc_config_url) };
    return this.#provider;
  }

  async #discover(configUrl: string): Promise<Endpoints> {
    assertTrustedUrl(configUrl, "the identity provider's discovery document");
    const response = await this.#target.http({ url: configUrl }, PROVIDER);
    const document = parseJson(response.text);
    if (response.status !== 200 || !isRecord(document)) {
      throw new PandaError(
        'SERVER_ERROR',
        `${PROVIDER} answered HTTP ${response.status} at ${configUrl}, not its discovery document`,
      );
    }
    const endpoint = (name: string): string | undefined => {
      const value = document[name];
      if (typeof value !== 'string') return undefined;
      assertTrustedUrl(value, `the identity provider's ${name}`);
      return value;
    };
    const token = endpoint('token_endpoint');
    const deviceAuthorization = endpoint('device_authorization_endpoint');
    if (token === undefined || deviceAuthorization === undefined) {
      throw new PandaError(
        'CONFIG',
        `${PROVIDER} at ${configUrl} offers no device flow (its discovery document lacks "token_endpoint" or "device_authorization_endpoint")`,
      );
    }
    const revocation = endpoint('revocation_endpoint');
    return { token, deviceAuthorization, ...(revocation === undefined ? {} : { revocation }) };
  }

  #clientForm(config: AuthConfig): Record<string, string> {
    return {
      client_id: config.client_id,
      ...(config.client_secret === '' ? {} : { client_secret: config.client_secret }),
    };
  }

  async #save(response: CachedTokens, previousRefreshToken?: string): Promise<string> {
    await this.#source.cache.write(cacheText(response, previousRefreshToken));
    return response.idToken;
  }

  /** A renewed ID token, or undefined (after saying why) when the provider refuses the refresh token. */
  async #renew(provider: Provider, refreshToken: string): Promise<string | undefined> {
    const response = await this.#target.http(
      {
        url: provider.endpoints.token,
        form: { ...this.#clientForm(provider.config), grant_type: 'refresh_token', refresh_token: refreshToken },
      },
      PROVIDER,
    );
    const body = parseJson(response.text);
    if (response.status === 200)
      return this.#save(parseTokenResponse(response.text, `the renewal answer of ${PROVIDER}`), refreshToken);
    const reason = isRecord(body) && typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    this.#source.say(`the saved sign-in could not be renewed (${reason}); signing in again`);
    return undefined;
  }

  async #deviceFlow(provider: Provider): Promise<string> {
    const { prompt } = this.#source;
    if (prompt === undefined) {
      throw new PandaError(
        'AUTH_REQUIRED',
        `no token, and signing in needs a person at a terminal: run "${this.#target.loginCommand}" on one ` +
          `(the sign-in is saved in ${this.#source.cache.path} and renewed from there), or ${this.#target.noTokenHint}`,
      );
    }
    const { config, endpoints } = provider;
    const scope = `openid profile email offline_access${config.jwt_profile === 'wlcg' ? ' wlcg wlcg.groups' : ''}`;
    const authorization = await this.#target.http(
      {
        url: endpoints.deviceAuthorization,
        form: { ...this.#clientForm(config), scope, ...(config.audience === '' ? {} : { audience: config.audience }) },
      },
      PROVIDER,
    );
    const device = parseJson(authorization.text);
    if (
      authorization.status !== 200 ||
      !isRecord(device) ||
      typeof device.device_code !== 'string' ||
      typeof device.user_code !== 'string' ||
      typeof device.verification_uri !== 'string'
    ) {
      const reason =
        isRecord(device) && typeof device.error === 'string'
          ? `: ${device.error}${typeof device.error_description === 'string' ? ` (${device.error_description})` : ''}`
          : '';
      throw new PandaError(
        'AUTH_REQUIRED',
        `${PROVIDER} refused to start a sign-in (HTTP ${authorization.status})${reason}`,
      );
    }
    const expiresIn = typeof device.expires_in === 'number' ? device.expires_in : 600;
    await prompt({
      verificationUri: device.verification_uri,
      ...(typeof device.verification_uri_complete === 'string'
        ? { verificationUriComplete: device.verification_uri_complete }
        : {}),
      userCode: device.user_code,
      expiresIn,
    });
    let intervalS = typeof device.interval === 'number' && device.interval > 0 ? device.interval : DEFAULT_INTERVAL_S;
    const deadline = this.#source.now() + expiresIn * 1000;
    const expired = (): PandaError =>
      new PandaError(
        'AUTH_REQUIRED',
        `the sign-in code expired before the sign-in was completed; run "${this.#target.loginCommand}" to get a new one`,
      );
    for (;;) {
      await this.#source.sleep(intervalS * 1000);
      if (this.#source.now() > deadline) throw expired();
      const response = await this.#target.http(
        {
          url: endpoints.token,
          form: { ...this.#clientForm(config), grant_type: DEVICE_CODE_GRANT, device_code: device.device_code },
        },
        PROVIDER,
      );
      if (response.status === 200) {
        const idToken = await this.#save(parseTokenResponse(response.text, `the answer of ${PROVIDER}`));
        this.#source.say(`signed in as ${describeToken(idToken, PROVIDER).user}`);
        return idToken;
      }
      const body = parseJson(response.text);
      const error = isRecord(body) && typeof body.error === 'string' ? body.error : undefined;
      if (error === 'authorization_pending') continue;
      if (error === 'slow_down') {
        intervalS += 5;
        continue;
      }
      if (error === 'expired_token') throw expired();
      if (error === 'access_denied') throw new PandaError('AUTH_REQUIRED', `the sign-in was denied at ${PROVIDER}`);
      throw new PandaError('AUTH_REQUIRED', `${PROVIDER} refused the sign-in (${error ?? `HTTP ${response.status}`})`);
    }
  }

  /**
   * Removes the saved sign-in; false when there was none. Its refresh token is revoked at the
   * provider first when the provider offers a revocation endpoint; that is best effort: a failure
   * is said, and the cache is removed all the same.
   */
  async signOut(): Promise<boolean> {
    const text = await this.#source.cache.read().catch(() => undefined);
    let refreshToken: string | undefined;
    try {
      refreshToken = text === undefined ? undefined : parseTokenResponse(text, 'the saved sign-in').refreshToken;
    } catch {
      // A damaged cache holds nothing to revoke; it is removed below.
    }
    if (refreshToken !== undefined) {
      try {
        const revocation = (await this.#findProvider(true))?.endpoints.revocation;
        if (revocation !== undefined) {
          const { config } = this.#provider as Provider;
          const response = await this.#target.http(
            {
              url: revocation,
              form: { ...this.#clientForm(config), token: refreshToken, token_type_hint: 'refresh_token' },
            },
            PROVIDER,
          );
          if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
          this.#source.say('revoked the refresh token at the identity provider');
        }
      } catch (error) {
        this.#source.say(
          `warning: the refresh token could not be revoked (${(error as Error).message}); it stays valid until it expires`,
        );
      }
    }
    return this.#source.cache.remove();
  }
}
