import { rootCertificates } from 'node:tls';
import got, { RequestError } from 'got';
import { PandaError, isLoopbackHost } from '@panda-secrets/protocol';
import { unreachableError } from '../errors.js';

export interface OAuthRequest {
  url: string;
  /** Sent as `application/x-www-form-urlencoded` with POST; without it the request is a GET. */
  form?: Record<string, string>;
}

export interface OAuthResponse {
  status: number;
  text: string;
}

/**
 * One HTTP exchange with panda-server or the identity provider. An HTTP answer of any status is
 * returned; no answer at all throws (see unreachableError). `what` names the other side in errors.
 */
export type OAuthHttp = (request: OAuthRequest, what: string) => Promise<OAuthResponse>;

/** The trust for TLS: the usual public roots, plus a private CA's PEM when one is given. */
export function trustedCertificates(ca: string | undefined): string[] | undefined {
  return ca === undefined ? undefined : [...rootCertificates, ca];
}

/**
 * Throws CONFIG unless `url` is https, or plain http to this machine: tokens, device codes and the
 * auth config that says where to send them must not cross the network in clear text.
 */
export function assertTrustedUrl(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new PandaError('CONFIG', `${what} ${JSON.stringify(url)} is not a URL`, { cause: error });
  }
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname))) return parsed;
  throw new PandaError(
    'CONFIG',
    `refusing ${what} ${JSON.stringify(url)}: signing in needs https (plain http only on a loopback address such as 127.0.0.1)`,
  );
}

/**
 * The HTTP exchange of the sign-in, made with got: TLS certificates are verified (against the
 * public roots and `ca`), redirects are not followed, nothing is retried.
 *
 * @example
 * const http = createOAuthHttp({ ca: readFileSync('/etc/panda/ca.pem', 'utf8') });
 * const { status, text } = await http({ url: 'https://panda.example:25443/auth/atlas_auth_config.json' }, 'panda-server');
 */
export function createOAuthHttp(options: { ca?: string; timeoutMs?: number } = {}): OAuthHttp {
  const certificateAuthority = trustedCertificates(options.ca);
  return async (request, what) => {
    try {
      const response = await got(request.url, {
        method: request.form === undefined ? 'GET' : 'POST',
        ...(request.form === undefined ? {} : { form: request.form }),
        headers: { accept: 'application/json' },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'text',
        retry: { limit: 0 },
        timeout: { request: options.timeoutMs ?? 30_000 },
        ...(certificateAuthority === undefined ? {} : { https: { certificateAuthority } }),
      });
      return { status: response.statusCode, text: response.body };
    } catch (error) {
      if (error instanceof RequestError && error.response === undefined)
        throw unreachableError(new URL(request.url).origin, error, what);
      throw error;
    }
  };
}
