import { describe, expect, it } from '@jest/globals';
import { SignJWT, base64url, decodeJwt, decodeProtectedHeader, exportSPKI, importJWK } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { createLocalVerifier, generateIssuerKey, parseIssuerKey, serializeIssuerKey, signToken } from './index.js';
import type { IssuerKey, TokenClaims } from './index.js';
import { pandaErrorOf } from '@panda-secrets/testkit/unit';
import { createVerifier } from './verify.js';

const issuer = 'panda-server:local';
const audience = 'panda-server';
const issuedAt = new Date('2025-11-26T06:00:00Z');
const oneHour = 3600;
const at = (date: Date) => () => date;
const inSeconds = (seconds: number) => new Date(issuedAt.getTime() + seconds * 1000);

const key = await generateIssuerKey();
const other = await generateIssuerKey();
const sign = (claims: TokenClaims, options: Partial<Parameters<typeof signToken>[2]> = {}, signer: IssuerKey = key) =>
  signToken(signer, claims, { issuer, audience, ttlSeconds: oneHour, now: issuedAt, ...options });
const verifier = createLocalVerifier({ publicJwk: key.publicJwk, issuer, audience, now: at(inSeconds(60)) });

async function expectRefused(token: string, why: string, verifyWith = verifier): Promise<void> {
  const error = await pandaErrorOf(verifyWith.verify(token), 'AUTH_REFUSED');
  expect(error.message).toBe(`the token was refused: ${why}`);
  if (token.length > 0) expect(error.message).not.toContain(token);
}

/** A token of the right issuer, audience and key, with any payload, to test the claim checks. */
async function signPayload(payload: JWTPayload, options: { expires?: boolean } = {}): Promise<string> {
  const builder = new SignJWT(payload).setProtectedHeader({ alg: 'ES256' }).setIssuer(issuer).setAudience(audience);
  if (options.expires !== false) builder.setExpirationTime(inSeconds(oneHour));
  return builder.sign(await importJWK(key.privateJwk, 'ES256'));
}

/** A token with a hand-made header and payload and the given signature part. */
function handMade(header: object, payload: object, signature = ''): string {
  const encode = (part: object) => base64url.encode(JSON.stringify(part));
  return `${encode(header)}.${encode(payload)}.${signature}`;
}

describe('issuer key', () => {
  it('is an ES256 key pair whose kid is the JWK thumbprint', async () => {
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.publicJwk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: key.privateJwk.x,
      y: key.privateJwk.y,
      kid: key.kid,
      alg: 'ES256',
      use: 'sig',
    });
    expect(key.privateJwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: key.kid, alg: 'ES256' });
    expect(typeof key.privateJwk.d).toBe('string');
    expect(other.kid).not.toBe(key.kid);
  });

  it('serializes as its private JWK and parses back to an equal key', () => {
    const text = serializeIssuerKey(key);
    expect(JSON.parse(text)).toEqual(key.privateJwk);
    expect(parseIssuerKey(text)).toEqual(key);
  });

  it.each([
    ['text that is not JSON', () => `{"d":"${key.privateJwk.d}"`, 'it is not JSON'],
    ['an array', () => '[]', 'it is not a JSON object'],
    [
      'an RSA key',
      () => JSON.stringify({ ...key.privateJwk, kty: 'RSA' }),
      'it must be an EC P-256 key (kty "EC", crv "P-256")',
    ],
    ['a key without kid', () => JSON.stringify({ ...key.privateJwk, kid: undefined }), 'it has no "kid"'],
    ['a public key only', () => JSON.stringify(key.publicJwk), 'it must hold the private key: x, y and d'],
    [
      'a key whose d is not a scalar',
      () => JSON.stringify({ ...key.privateJwk, d: 'AAAA' }),
      'x, y and d are not one P-256 key pair',
    ],
    [
      'a key whose d belongs to other x and y',
      () => JSON.stringify({ ...key.privateJwk, x: other.publicJwk.x, y: other.publicJwk.y }),
      'x, y and d are not one P-256 key pair',
    ],
  ])('refuses %s with KEYRING and no key material', async (_what, text, problem) => {
    const error = await pandaErrorOf(() => parseIssuerKey(text()), 'KEYRING');
    expect(error.message).toBe(`the issuer key is not valid: ${problem}`);
    expect(error.message).not.toContain(key.privateJwk.d);
  });
});

describe('signToken', () => {
  it('writes the standard and OIDC-style claims with an ES256 header naming the key', async () => {
    const token = await sign({ sub: 'u-1', preferred_username: 'alice', name: 'Alice A.', groups: ['atlas'] });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: key.kid, typ: 'JWT' });
    const epoch = issuedAt.getTime() / 1000;
    expect(decodeJwt(token)).toEqual({
      iss: issuer,
      aud: audience,
      sub: 'u-1',
      iat: epoch,
      exp: epoch + oneHour,
      preferred_username: 'alice',
      name: 'Alice A.',
      groups: ['atlas'],
    });
  });

  it('writes the role claim only for a pilot', async () => {
    expect(decodeJwt(await sign({ sub: 'p', role: 'pilot' })).role).toBe('pilot');
    expect(decodeJwt(await sign({ sub: 'u', role: 'user' }))).not.toHaveProperty('role');
  });

  it('refuses an empty subject and a lifetime that is not positive whole seconds', async () => {
    await pandaErrorOf(sign({ sub: '' }), 'INVALID_INPUT');
    for (const ttlSeconds of [0, -1, 1.5, Number.NaN]) {
      const error = await pandaErrorOf(sign({ sub: 'u' }, { ttlSeconds }), 'INVALID_INPUT');
      expect(error.message).toBe('a token lifetime must be a whole number of seconds above 0');
    }
  });
});

describe('local verifier', () => {
  it('accepts a valid token and takes the owner from preferred_username', async () => {
    const token = await sign({ sub: 'u-1', preferred_username: 'alice', groups: ['atlas', 'cms'] });
    expect(await verifier.verify(token)).toEqual({
      owner: 'alice',
      subject: 'u-1',
      role: 'user',
      groups: ['atlas', 'cms'],
    });
  });

  it('takes the owner from sub without preferred_username, and the pilot role from the claim', async () => {
    expect(await verifier.verify(await sign({ sub: 'pilot-7', role: 'pilot' }))).toEqual({
      owner: 'pilot-7',
      subject: 'pilot-7',
      role: 'pilot',
      groups: [],
    });
  });

  it('accepts a token up to its expiry and refuses it from then on', async () => {
    const token = await sign({ sub: 'alice' });
    const justBefore = createLocalVerifier({
      publicJwk: key.publicJwk,
      issuer,
      audience,
      now: at(inSeconds(oneHour - 1)),
    });
    expect((await justBefore.verify(token)).owner).toBe('alice');
    const atExpiry = createLocalVerifier({ publicJwk: key.publicJwk, issuer, audience, now: at(inSeconds(oneHour)) });
    await expectRefused(token, 'token expired', atExpiry);
  });

  it('refuses a token for another audience or from another issuer', async () => {
    await expectRefused(await sign({ sub: 'alice' }, { audience: 'other-service' }), 'audience not accepted');
    await expectRefused(await sign({ sub: 'alice' }, { issuer: 'someone-else' }), 'issuer not accepted');
  });

  it('refuses a token signed by another key, even one claiming the right kid', async () => {
    await expectRefused(await sign({ sub: 'alice' }, {}, { ...other, kid: key.kid }), 'signature invalid');
  });

  it('refuses an unsigned token (alg none)', async () => {
    const payload = { sub: 'alice', iss: issuer, aud: audience, exp: inSeconds(oneHour).getTime() / 1000 };
    await expectRefused(handMade({ alg: 'none' }, payload), 'algorithm not allowed');
    await expectRefused(handMade({ alg: 'none', typ: 'JWT' }, payload, 'e30'), 'algorithm not allowed');
  });

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const publicKey = (await importJWK(key.publicJwk, 'ES256')) as CryptoKey;
    const claims = { sub: 'mallory', preferred_username: 'alice' };
    for (const secret of [await exportSPKI(publicKey), JSON.stringify(key.publicJwk)]) {
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setExpirationTime(inSeconds(oneHour))
        .sign(new TextEncoder().encode(secret));
      await expectRefused(token, 'algorithm not allowed');
    }
  });

  it('refuses a signed token without expiry', async () => {
    await expectRefused(await signPayload({ sub: 'alice' }, { expires: false }), 'the claim "exp" is missing');
  });

  it('refuses a token naming no user', async () => {
    await expectRefused(
      await signPayload({ preferred_username: 42 }),
      'the claim "preferred_username" is not a non-empty string',
    );
    await expectRefused(
      await signPayload({}),
      'the token names no user: it has neither "preferred_username" nor "sub"',
    );
  });

  it.each(['', 'abc', 'a.b.c', 'a.b', 'Bearer x.y.z'])('refuses the malformed token %j', async (token) => {
    await expectRefused(token, 'malformed token');
  });

  it('refuses a valid token whose payload was altered', async () => {
    const [header, , signature] = (await sign({ sub: 'alice' })).split('.');
    const forged = handMade(
      JSON.parse(new TextDecoder().decode(base64url.decode(header!))) as object,
      {
        sub: 'admin',
        iss: issuer,
        aud: audience,
        exp: inSeconds(oneHour).getTime() / 1000,
      },
      signature,
    );
    await expectRefused(forged, 'signature invalid');
  });

  it('imports only the public members of the configured key', async () => {
    const lenient = createLocalVerifier({ publicJwk: key.privateJwk, issuer, audience, now: at(inSeconds(60)) });
    expect((await lenient.verify(await sign({ sub: 'alice' }))).owner).toBe('alice');
    const broken = createLocalVerifier({ publicJwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, issuer, audience });
    const error = await pandaErrorOf(broken.verify(await sign({ sub: 'alice' })), 'KEYRING');
    expect(error.message).toBe('the issuer public key is not an EC P-256 JWK');
  });
});

describe('verified token cache', () => {
  /** A verifier over the issuer key that counts signature checks (key look-ups), at a movable clock. */
  function countingVerifier(options: { cacheEntries?: number; group?: string } = {}) {
    const clock = { now: inSeconds(60) };
    const counter = { checks: 0 };
    const publicKey = importJWK(key.publicJwk, 'ES256') as Promise<CryptoKey>;
    const verifyWith = createVerifier(
      () => {
        counter.checks += 1;
        return publicKey;
      },
      { issuer, audience, algorithms: ['ES256'], now: () => clock.now, ...options },
    );
    return { verifyWith, clock, counter };
  }

  it('checks a token once, then answers its repeats from memory until its exp, never after', async () => {
    const { verifyWith, clock, counter } = countingVerifier();
    const token = await sign({ sub: 'alice', groups: ['atlas'] });
    const first = await verifyWith.verify(token);
    expect(await verifyWith.verify(token)).toEqual(first);
    expect(counter.checks).toBe(1);
    clock.now = inSeconds(oneHour - 1);
    expect((await verifyWith.verify(token)).owner).toBe('alice');
    clock.now = inSeconds(oneHour);
    await expectRefused(token, 'token expired', verifyWith);
  });

  it('checks a remembered token again after five minutes, even before its exp', async () => {
    const { verifyWith, clock, counter } = countingVerifier();
    const token = await sign({ sub: 'alice' });
    await verifyWith.verify(token);
    clock.now = inSeconds(60 + 299);
    await verifyWith.verify(token);
    expect(counter.checks).toBe(1);
    clock.now = inSeconds(60 + 300);
    await verifyWith.verify(token);
    expect(counter.checks).toBe(2);
  });

  it('never remembers a refused token, nor one outside the required group', async () => {
    const { verifyWith, counter } = countingVerifier({ group: 'atlas' });
    const forged = await sign({ sub: 'alice', groups: ['atlas'] }, {}, other);
    await expectRefused(forged, 'signature invalid', verifyWith);
    await expectRefused(forged, 'signature invalid', verifyWith);
    expect(counter.checks).toBe(2);
    const outsider = await sign({ sub: 'bob', groups: ['cms'] });
    await pandaErrorOf(verifyWith.verify(outsider), 'FORBIDDEN');
    await pandaErrorOf(verifyWith.verify(outsider), 'FORBIDDEN');
    expect(counter.checks).toBe(4);
  });

  it('keeps at most cacheEntries tokens, dropping the least recently used', async () => {
    const { verifyWith, counter } = countingVerifier({ cacheEntries: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => sign({ sub })));
    for (const token of [a, b, a, c]) await verifyWith.verify(token!);
    expect(counter.checks).toBe(3);
    await verifyWith.verify(a!);
    await verifyWith.verify(c!);
    expect(counter.checks).toBe(3);
    await verifyWith.verify(b!);
    expect(counter.checks).toBe(4);
  });

  it('remembers nothing with cacheEntries 0', async () => {
    const { verifyWith, counter } = countingVerifier({ cacheEntries: 0 });
    const token = await sign({ sub: 'alice' });
    await verifyWith.verify(token);
    await verifyWith.verify(token);
    expect(counter.checks).toBe(2);
  });
});
