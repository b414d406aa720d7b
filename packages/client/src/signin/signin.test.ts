import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PandaError } from '@panda-secrets/protocol';
import {
  SignIn,
  createOAuthHttp,
  resolveClientOptions,
  type DevicePrompt,
  type OAuthHttp,
  type OAuthRequest,
  type SignInSource,
} from '../index.js';

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
/** An unsigned JWT with these claims: the sign-in reads claims, the server verifies signatures. */
const jwt = (claims: Record<string, unknown>): string => `${encode({ alg: 'RS256' })}.${encode(claims)}.c2ln`;

const NOW = Date.parse('2026-01-01T00:00:00Z');
const ISSUER = 'https://idp.example.org';
const CONFIG_URL = `${ISSUER}/.well-known/openid-configuration`;
const AUTH_CONFIG = { client_id: 'panda-cli', client_secret: '', audience: 'panda-cli', oidc_config_url: CONFIG_URL };
const DISCOVERY = {
  issuer: ISSUER,
  token_endpoint: `${ISSUER}/token`,
  device_authorization_endpoint: `${ISSUER}/device/auth`,
};

type Answer = { status: number; body: unknown };

/** HTTP answers by URL, in order; every request is recorded. */
function scriptedHttp(script: Record<string, Answer[]>): { http: OAuthHttp; requests: OAuthRequest[] } {
  const requests: OAuthRequest[] = [];
  const http: OAuthHttp = async (request) => {
    requests.push(request);
    const answer = script[request.url]?.shift();
    if (answer === undefined) throw new Error(`unexpected request to ${request.url}`);
    return { status: answer.status, text: JSON.stringify(answer.body) };
  };
  return { http, requests };
}

function source(setup: { cache?: string; prompt?: boolean } = {}) {
  let cached = setup.cache;
  let now = NOW;
  const said: string[] = [];
  const prompts: DevicePrompt[] = [];
  const sleeps: number[] = [];
  const signIn: SignInSource = {
    cache: {
      path: '/home/jdoe/.pathena/.token',
      read: async () => cached,
      write: async (text) => {
        cached = text;
      },
      remove: async () => cached !== undefined && (cached = undefined) === undefined,
    },
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    say: (message) => said.push(message),
    ...(setup.prompt === false ? {} : { prompt: (device: DevicePrompt) => void prompts.push(device) }),
  };
  return { signIn, said, prompts, sleeps, cached: () => cached };
}

function signInWith(signIn: SignInSource, http: OAuthHttp, server = 'https://panda.example:25443'): SignIn {
  return new SignIn(signIn, { server, vo: 'atlas', http, noTokenHint: 'give a token', loginCommand: 'pbook login' });
}

const authConfigUrl = 'https://panda.example:25443/auth/atlas_auth_config.json';
const idToken = (expiresIn: number, user = 'jdoe') =>
  jwt({ sub: user, preferred_username: user, exp: NOW / 1000 + expiresIn });

describe('SignIn', () => {
  it('refuses plain http beyond this machine before sending anything', async () => {
    const { http, requests } = scriptedHttp({});
    await expect(signInWith(source().signIn, http, 'http://panda.example:25080').idToken()).rejects.toMatchObject({
      code: 'CONFIG',
      message:
        'refusing the server address "http://panda.example:25080": signing in needs https (plain http only on a loopback address such as 127.0.0.1)',
    });
    expect(requests).toEqual([]);
    const insecure = scriptedHttp({
      [authConfigUrl]: [{ status: 200, body: AUTH_CONFIG }],
      [CONFIG_URL]: [{ status: 200, body: { ...DISCOVERY, token_endpoint: 'http://idp.example.org/token' } }],
    });
    await expect(signInWith(source().signIn, insecure.http).idToken()).rejects.toThrow(
      'refusing the identity provider\'s token_endpoint "http://idp.example.org/token": signing in needs https',
    );
  });

  it('without a person at a terminal fails at once, without asking for a code or waiting', async () => {
    const run = source({ prompt: false });
    const { http, requests } = scriptedHttp({
      [authConfigUrl]: [{ status: 200, body: AUTH_CONFIG }],
      [CONFIG_URL]: [{ status: 200, body: DISCOVERY }],
    });
    const error = (await signInWith(run.signIn, http)
      .idToken()
      .catch((failure: unknown) => failure)) as PandaError;
    expect(error.code).toBe('AUTH_REQUIRED');
    expect(error.message).toBe(
      'no token, and signing in needs a person at a terminal: run "pbook login" on one (the sign-in is saved in /home/jdoe/.pathena/.token and renewed from there), or give a token',
    );
    expect(requests.map((request) => request.url)).toEqual([authConfigUrl, CONFIG_URL]);
    expect(run.sleeps).toEqual([]);
  });

  it('polls at the interval, slower after slow_down, saves the answer and never says a token', async () => {
    const run = source();
    const fresh = idToken(3600);
    const { http, requests } = scriptedHttp({
      [authConfigUrl]: [{ status: 200, body: AUTH_CONFIG }],
      [CONFIG_URL]: [{ status: 200, body: DISCOVERY }],
      [DISCOVERY.device_authorization_endpoint]: [
        {
          status: 200,
          body: {
            device_code: 'dc',
            user_code: 'AB-CD',
            verification_uri: `${ISSUER}/device`,
            expires_in: 600,
            interval: 2,
          },
        },
      ],
      [DISCOVERY.token_endpoint]: [
        { status: 400, body: { error: 'authorization_pending' } },
        { status: 400, body: { error: 'slow_down' } },
        { status: 200, body: { id_token: fresh, refresh_token: 'rt-1', access_token: 'at', token_type: 'Bearer' } },
      ],
    });
    expect(await signInWith(run.signIn, http).idToken()).toBe(fresh);
    expect(run.prompts).toEqual([{ verificationUri: `${ISSUER}/device`, userCode: 'AB-CD', expiresIn: 600 }]);
    expect(run.sleeps).toEqual([2000, 2000, 7000]);
    expect(requests[2]?.form).toEqual({
      client_id: 'panda-cli',
      scope: 'openid profile email offline_access',
      audience: 'panda-cli',
    });
    expect(JSON.parse(run.cached() ?? '')).toEqual({
      id_token: fresh,
      refresh_token: 'rt-1',
      access_token: 'at',
      token_type: 'Bearer',
    });
    expect(run.said).toEqual(['signed in as jdoe']);
  });

  it('reuses a token with more than five minutes left, and renews one with less, keeping the refresh token', async () => {
    const valid = idToken(600);
    const reuse = scriptedHttp({});
    expect(
      await signInWith(
        source({ cache: JSON.stringify({ id_token: valid, refresh_token: 'rt' }) }).signIn,
        reuse.http,
      ).idToken(),
    ).toBe(valid);
    expect(reuse.requests).toEqual([]);

    const renewedToken = idToken(3600);
    const run = source({ cache: JSON.stringify({ id_token: idToken(200), refresh_token: 'rt-old', scope: 'openid' }) });
    const renew = scriptedHttp({
      [authConfigUrl]: [{ status: 200, body: AUTH_CONFIG }],
      [CONFIG_URL]: [{ status: 200, body: DISCOVERY }],
      [DISCOVERY.token_endpoint]: [{ status: 200, body: { id_token: renewedToken } }],
    });
    expect(await signInWith(run.signIn, renew.http).idToken()).toBe(renewedToken);
    expect(renew.requests[2]?.form).toEqual({
      client_id: 'panda-cli',
      grant_type: 'refresh_token',
      refresh_token: 'rt-old',
    });
    // The provider does not rotate: the refresh token that was used stays for the next renewal.
    expect(JSON.parse(run.cached() ?? '')).toEqual({ id_token: renewedToken, refresh_token: 'rt-old' });
  });

  it('keeps using a cached token of a server that publishes no auth config until it expires', async () => {
    const local = idToken(120);
    const { http } = scriptedHttp({
      [authConfigUrl]: [
        { status: 404, body: { success: false } },
        { status: 404, body: { success: false } },
      ],
    });
    expect(await signInWith(source({ cache: JSON.stringify({ id_token: local }) }).signIn, http).idToken()).toBe(local);
    await expect(
      signInWith(source({ cache: JSON.stringify({ id_token: idToken(-1) }) }).signIn, http).idToken(),
    ).rejects.toMatchObject({
      code: 'AUTH_REQUIRED',
      message:
        'no token, and signing in is not possible: https://panda.example:25443 publishes no auth config for the VO "atlas"; give a token',
    });
  });
});

describe('TLS trust', () => {
  it('refuses a certificate of a private CA unless --ca-file (or PANDA_CA_FILE) names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signin-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const server = createServer({ cert, key: readFileSync(join(dir, 'key.pem')) }, (_request, response) =>
        response.end('{"ok":true}'),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
      try {
        await expect(createOAuthHttp()({ url }, 'the identity provider')).rejects.toMatchObject({
          code: 'CONFIG',
          message: `the TLS certificate of the identity provider at ${url} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT); if it comes from a private CA, give that CA's PEM file with --ca-file or PANDA_CA_FILE`,
        });
        expect(await createOAuthHttp({ ca: cert })({ url }, 'the identity provider')).toEqual({
          status: 200,
          text: '{"ok":true}',
        });
      } finally {
        server.close();
      }
      const readFile = async (path: string) => readFileSync(path);
      const env = { PANDA_AUTH_ID_TOKEN: 't', PANDA_CA_FILE: join(dir, 'cert.pem') };
      expect(await resolveClientOptions({ env, readFile }, { server: url })).toMatchObject({ ca: cert });
      await expect(
        resolveClientOptions({ env, readFile }, { server: url, caFile: join(dir, 'key.pem') }),
      ).rejects.toThrow(`the CA file "${join(dir, 'key.pem')}" (--ca-file) holds no PEM certificate`);
      await expect(
        resolveClientOptions({ env: { ...env, PANDA_CA_FILE: join(dir, 'nope.pem') }, readFile }, { server: url }),
      ).rejects.toThrow(`cannot read the CA file "${join(dir, 'nope.pem')}" (PANDA_CA_FILE): no such file`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
