import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ApiPath } from '@panda-secrets/protocol';
import { callApi, selfSignedCertificate } from '@panda-secrets/testkit';
import { runPandaServer, serverDeps, testScratch, secretsOf } from '../../testing/commands.js';
import { runServe } from './run.js';

const scratch = testScratch('panda-serve-');
afterAll(() => scratch.cleanUp());

describe('panda-server serve', () => {
  it('says where it listens on stdout, serves until stopped, then exits 0', async () => {
    const dir = await scratch.dir();
    const { deps, stdout, stderr, stop } = serverDeps();
    const ended = runServe(deps, {}, { dataDir: dir, host: '127.0.0.1', port: 0, insecure: false, logLevel: 'info' });
    while (!stdout().includes('\n')) await new Promise((resolve) => setTimeout(resolve, 10));
    const [, url] = /^panda-server listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(stdout()) ?? [];
    expect((await fetch(`${url}${ApiPath.health}`)).status).toBe(200);
    stop();
    expect(await ended).toBe(0);
    await expect(fetch(`${url}${ApiPath.health}`)).rejects.toThrow();
    // The JSON log goes to stderr, without a log file.
    expect(stderr()).toContain('"msg":"Server listening at');
  });

  it('checks --port, changing nothing', async () => {
    const dir = await scratch.dir();
    for (const port of ['99999', 'abc', '-1']) {
      const result = await runPandaServer(['--data-dir', join(dir, 'data'), '--port', port]);
      expect([result.code, result.stderr]).toEqual([
        2,
        'panda-server: --port must be a whole number from 0 to 65535 (0 picks a free port)\n',
      ]);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('checks the job options before starting, changing nothing', async () => {
    const dir = await scratch.dir();
    const refusals: Array<[string[], string]> = [
      [['--job-lease', '0'], '--job-lease must be a positive whole number'],
      [['--job-lease', '1.5'], '--job-lease must be a positive whole number'],
      [['--max-attempts', '-2'], '--max-attempts must be a positive whole number'],
      [['--log-budget', '0'], '--log-budget must be a positive whole number'],
      [['--job-retention', '5x'], '--job-retention must be a duration such as 90s, 30m, 12h or 30d, not "5x"'],
    ];
    for (const [args, message] of refusals) {
      const result = await runPandaServer(['--data-dir', join(dir, 'data'), '--port', '0', ...args]);
      expect([result.code, result.stderr]).toEqual([2, `panda-server: ${message}\n`]);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes its log file readable by the owner only', async () => {
    const dir = await scratch.dir();
    const logFile = join(dir, 'server.log');
    await scratch.serve(join(dir, 'data'), ['--log-file', logFile]);
    expect(((await stat(logFile)).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses a non-loopback address without TLS, and says how to allow it', async () => {
    const result = await runPandaServer(['--data-dir', await scratch.dir(), '--host', '0.0.0.0', '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refusing to listen on 0.0.0.0 without TLS');
    expect(result.stderr).toContain('--tls-cert and --tls-key, or --insecure');
  });

  it('serves HTTPS with --tls-cert and --tls-key', async () => {
    const dir = await scratch.dir();
    const { cert, key } = selfSignedCertificate(dir);
    const server = await scratch.serve(join(dir, 'data'), ['--tls-cert', cert, '--tls-key', key]);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(cert);
    const status = await new Promise<number>((resolve, reject) => {
      httpsRequest(`${server.url}${ApiPath.health}`, { ca }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
  });

  it('refuses to start with a missing or wrong key ring for an existing database', async () => {
    const dataDir = join(await scratch.dir(), 'data');
    const server = await scratch.serve(dataDir);
    const token = await server.token('alice');
    await callApi(server.url, token, ApiPath.setUserSecrets, { key: 'K', value: 'v' });
    expect((await server.stop()).code).toBe(0);
    const keyringFile = join(dataDir, 'keyring.json');
    const original = await readFile(keyringFile, 'utf8');

    await rm(keyringFile);
    const missing = await runPandaServer(['--data-dir', dataDir, '--port', '0']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^panda-server: the database holds secrets encrypted under a key ring, but there is no key ring at .*keyring\.json/,
    );

    const otherDir = join(await scratch.dir(), 'data');
    await (await scratch.serve(otherDir)).stop();
    await writeFile(keyringFile, await readFile(join(otherDir, 'keyring.json'), 'utf8'), { mode: 0o600 });
    const wrong = await runPandaServer(['--data-dir', dataDir, '--port', '0']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('does not match the database');

    await writeFile(keyringFile, original, { mode: 0o600 });
    const restored = await scratch.serve(dataDir);
    expect(await secretsOf(restored.url, token)).toEqual({ K: 'v' });
  });

  it("verifies tokens in OIDC mode against the issuer's JWKS found by discovery over HTTP", async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = randomUUID();
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
    let issuer = '';
    const idp: Server = createHttpServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      if (request.url === '/.well-known/openid-configuration')
        response.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
      else if (request.url === '/jwks') response.end(JSON.stringify({ keys: [jwk] }));
      else response.writeHead(404).end('{}');
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const address = idp.address();
    issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const sign = (claims: Record<string, unknown>) => {
      const now = Math.floor(Date.now() / 1000);
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const input = `${encode({ alg: 'RS256', kid, typ: 'JWT' })}.${encode({ iss: issuer, aud: 'panda', iat: now, exp: now + 600, ...claims })}`;
      return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
    };
    try {
      const server = await scratch.serve(join(await scratch.dir(), 'data'), [
        '--oidc-issuer',
        issuer,
        '--oidc-audience',
        'panda',
        '--oidc-group',
        'atlas',
      ]);
      const member = sign({ sub: 'u-123', preferred_username: 'jdoe', groups: ['atlas'] });
      expect((await callApi(server.url, member, ApiPath.setUserSecrets, { key: 'OIDC_KEY', value: 'v' })).status).toBe(
        200,
      );
      expect(await secretsOf(server.url, member)).toEqual({ OIDC_KEY: 'v' });
      const outsider = sign({ sub: 'u-456', preferred_username: 'eve', groups: ['cms'] });
      const refused = await callApi(server.url, outsider, ApiPath.getUserSecrets);
      expect(refused.status).toBe(403);
      expect(refused.json.message).toContain('atlas');
      const wrongAudience = sign({ sub: 'u-123', preferred_username: 'jdoe', groups: ['atlas'], aud: 'other' });
      expect((await callApi(server.url, wrongAudience, ApiPath.getUserSecrets)).status).toBe(403);
    } finally {
      idp.close();
    }
  });
});
