import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { createOidcVerifier } from './index.js';
import { freePort, pandaErrorOf } from '@panda-secrets/testkit/unit';

const audience = 'panda-server';
const now = new Date('2025-11-26T06:00:00Z');
const epoch = now.getTime() / 1000;

/**
 * A real identity provider over HTTP: realm `good` publishes its RS256 key; realm `liar`'s
 * discovery document names realm `good` as its issuer; realm `nokeys` points at a key set that is
 * missing; realm `plainjwks` names a key set on plain http elsewhere. `discoveryStatus` lets a test make discovery fail for a while.
 */
let server: Server;
let base: string;
let signingKey: CryptoKey;
const kid = 'rsa-1';
const requests: string[] = [];
let discoveryStatus = 200;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  signingKey = privateKey;
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  server = createServer((request, response) => {
    const path = request.url ?? '';
    requests.push(path);
    const [, realm, ...rest] = path.split('/');
    const answer = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (rest.join('/') === '.well-known/openid-configuration') {
      if (discoveryStatus !== 200) return answer(discoveryStatus, { error: 'down' });
      const jwksUri = realm === 'plainjwks' ? 'http://idp.example.org/jwks' : `${base}/${realm}/jwks`;
      return answer(200, { issuer: `${base}/${realm === 'liar' ? 'good' : realm}`, jwks_uri: jwksUri });
    }
    if (realm !== 'nokeys' && rest.join('/') === 'jwks') return answer(200, jwks);
    return answer(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests.length = 0;
  discoveryStatus = 200;
});

const verifierFor = (realm: string, group?: string) =>
  createOidcVerifier({ issuer: `${base}/${realm}`, audience, group, now: () => now });

function idpToken(claims: JWTPayload, options: { key?: CryptoKey; kid?: string; audience?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? kid, typ: 'JWT' })
    .setIssuer(`${base}/good`)
    .setAudience(options.audience ?? audience)
    .setIssuedAt(epoch)
    .setExpirationTime(epoch + 300)
    .sign(options.key ?? signingKey);
}

describe('OIDC verifier', () => {
  it("discovers the key set once and verifies the issuer's tokens over HTTP", async () => {
    const verifier = verifierFor('good');
    const alice = await idpToken({ sub: 'f3a1-uuid', preferred_username: 'alice', groups: ['atlas'] });
    const bob = await idpToken({ sub: 'bob-uuid' });
    expect(await verifier.verify(alice)).toEqual({
      owner: 'alice',
      subject: 'f3a1-uuid',
      role: 'user',
      groups: ['atlas'],
    });
    expect(await verifier.verify(bob)).toEqual({ owner: 'bob-uuid', subject: 'bob-uuid', role: 'user', groups: [] });
    expect(requests).toEqual(['/good/.well-known/openid-configuration', '/good/jwks']);
  });

  it('requires the configured group', async () => {
    const verifier = verifierFor('good', 'atlas');
    const member = await idpToken({ sub: 'a', groups: ['cms', 'atlas'] });
    expect((await verifier.verify(member)).groups).toEqual(['cms', 'atlas']);
    for (const groups of [['cms'], undefined, 'atlas']) {
      const error = await pandaErrorOf(verifier.verify(await idpToken({ sub: 'b', groups })), 'FORBIDDEN');
      expect(error.message).toBe('the token is not in group "atlas"');
    }
  });

  it('insists on https for the issuer and its key set, but for loopback addresses', async () => {
    expect(() => createOidcVerifier({ issuer: 'http://idp.example.org/realms/x', audience })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('must be an https URL') }),
    );
    expect(() => createOidcVerifier({ issuer: 'not a url', audience })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => createOidcVerifier({ issuer: 'https://idp.example.org/realms/x', audience })).not.toThrow();
    await expect(verifierFor('plainjwks').verify(await idpToken({ sub: 'a' }))).rejects.toMatchObject({
      code: 'SERVER_ERROR',
      message: expect.stringContaining('must be served over https'),
    });
    expect(requests).not.toContain('/plainjwks/jwks');
  });

  it('refuses a discovery document that names another issuer', async () => {
    const error = await pandaErrorOf(verifierFor('liar').verify(await idpToken({ sub: 'a' })), 'SERVER_ERROR');
    expect(error.message).toBe(
      `the OIDC discovery document at ${base}/liar/.well-known/openid-configuration names "${base}/good", ` +
        `not the configured issuer "${base}/liar"`,
    );
    expect(requests).not.toContain('/liar/jwks');
  });

  it('answers UNAVAILABLE while discovery fails, and discovers again on the next token', async () => {
    const verifier = verifierFor('good');
    const token = await idpToken({ sub: 'a' });
    discoveryStatus = 503;
    const error = await pandaErrorOf(verifier.verify(token), 'UNAVAILABLE');
    expect(error.message).toBe(
      `the OIDC issuer "${base}/good" could not be reached: ${base}/good/.well-known/openid-configuration answered HTTP 503`,
    );
    discoveryStatus = 200;
    expect((await verifier.verify(token)).owner).toBe('a');
  });

  it('answers UNAVAILABLE when the issuer is not listening or its key set is missing', async () => {
    const deadIssuer = `http://127.0.0.1:${await freePort()}`;
    const token = await idpToken({ sub: 'a' });
    const dead = createOidcVerifier({ issuer: deadIssuer, audience, now: () => now });
    expect((await pandaErrorOf(dead.verify(token), 'UNAVAILABLE')).message).toMatch(
      /^the OIDC issuer "http:\/\/127\.0\.0\.1:\d+" could not be reached: no JSON document from /,
    );
    expect((await pandaErrorOf(verifierFor('nokeys').verify(token), 'UNAVAILABLE')).message).toBe(
      `the OIDC issuer "${base}/nokeys" could not be reached: no key set from ${base}/nokeys/jwks`,
    );
  });

  it('refuses tokens that are expired, for another audience, from an unknown key, or HMAC-signed', async () => {
    const verifier = verifierFor('good');
    const refusal = async (token: string) => (await pandaErrorOf(verifier.verify(token), 'AUTH_REFUSED')).message;
    const later = createOidcVerifier({
      issuer: `${base}/good`,
      audience,
      now: () => new Date(now.getTime() + 301_000),
    });
    const token = await idpToken({ sub: 'a' });
    expect((await pandaErrorOf(later.verify(token), 'AUTH_REFUSED')).message).toBe(
      'the token was refused: token expired',
    );
    expect(await refusal(await idpToken({ sub: 'a' }, { audience: 'another-app' }))).toBe(
      'the token was refused: audience not accepted',
    );
    const stranger = (await generateKeyPair('RS256')).privateKey;
    expect(await refusal(await idpToken({ sub: 'a' }, { key: stranger, kid: 'rsa-2' }))).toBe(
      'the token was refused: no key of the issuer matches the token',
    );
    expect(await refusal(await idpToken({ sub: 'a' }, { key: stranger }))).toBe(
      'the token was refused: signature invalid',
    );
    const hmac = await new SignJWT({ sub: 'a' })
      .setProtectedHeader({ alg: 'HS256', kid })
      .setIssuer(`${base}/good`)
      .setAudience(audience)
      .setExpirationTime(epoch + 300)
      .sign(new TextEncoder().encode('a shared secret of at least 32 bytes!'));
    expect(await refusal(hmac)).toBe('the token was refused: algorithm not allowed');
  });
});
