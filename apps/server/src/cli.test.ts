import { execFileSync } from 'node:child_process';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { generatePilotKeyPair, openBundle } from '@panda-secrets/crypto';
import { ApiPath, type AcquiredJob } from '@panda-secrets/protocol';
import { cleanEnv, runCli, startServer, type RunningServer } from '@panda-secrets/testkit';

const started: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
});

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  const server = await startServer(options);
  started.push(server);
  return server;
}

async function call(url: string, token: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

async function secretsOf(url: string, token: string): Promise<Record<string, string>> {
  const { json } = await call(url, token, ApiPath.getUserSecrets);
  return JSON.parse(json.data as string) as Record<string, string>;
}

describe('panda-server on the embedded default', () => {
  it('keeps values across a restart and through rotate-key', async () => {
    const first = await start();
    const token = await first.token('alice');
    for (let index = 0; index < 5; index += 1) {
      expect(
        (await call(first.url, token, ApiPath.setUserSecrets, { key: `KEY_${index}`, value: `value-${index}` })).status,
      ).toBe(200);
    }
    await first.stop();
    const rotated = await runCli('panda-server', ['rotate-key', '--data-dir', first.dataDir]);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^re-encrypted 5 secrets under key \S+\n$/);
    const keyring = JSON.parse(await readFile(join(first.dataDir, 'keyring.json'), 'utf8')) as { keys: unknown[] };
    expect(keyring.keys).toHaveLength(2);

    const second = await start({ dataDir: first.dataDir });
    const expected = Object.fromEntries(Array.from({ length: 5 }, (_, index) => [`KEY_${index}`, `value-${index}`]));
    expect(await secretsOf(second.url, token)).toEqual(expected);
    await second.stop();
  });

  it('keeps serving every secret, and sealing jobs, when rotate-key runs beside it', async () => {
    const server = await start();
    const token = await server.token('alice');
    const expected: Record<string, string> = {};
    for (let index = 0; index < 8; index += 1) {
      expected[`ROTATED_${index}`] = `rotated-value-${index}`;
      await call(server.url, token, ApiPath.setUserSecrets, {
        key: `ROTATED_${index}`,
        value: `rotated-value-${index}`,
      });
    }
    const submitted = await call(server.url, token, ApiPath.submitJobs, {
      jobs: [{ exec: 'true', outDS: 'ds', secrets: Object.keys(expected) }],
    });
    const jobId = submitted.json.data.jobs[0].id as string;

    const rotated = await runCli('panda-server', ['rotate-key', '--data-dir', server.dataDir]);
    expect(rotated.stdout).toMatch(/^re-encrypted 8 secrets under key /);
    expect(await secretsOf(server.url, token)).toEqual(expected);

    await runCli('panda-server', ['rotate-key', '--data-dir', server.dataDir]);
    const keys = await generatePilotKeyPair();
    const acquired = await call(server.url, await server.token('pilot-1', { role: 'pilot' }), ApiPath.acquireJobs, {
      publicKey: keys.publicJwk,
    });
    expect(acquired.status).toBe(200);
    const [job] = acquired.json.data.jobs as AcquiredJob[];
    expect((await openBundle(keys.privateKey, job?.bundle ?? '', jobId)).env).toEqual(expected);
  });

  it('refuses to start with a missing or wrong key ring for an existing database', async () => {
    const server = await start();
    const token = await server.token('alice');
    await call(server.url, token, ApiPath.setUserSecrets, { key: 'K', value: 'v' });
    await server.stop();
    const keyringFile = join(server.dataDir, 'keyring.json');
    const original = await readFile(keyringFile, 'utf8');

    await rm(keyringFile);
    const missing = await runCli('panda-server', ['--data-dir', server.dataDir, '--port', '0']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^panda-server: the database holds secrets encrypted under a key ring, but there is no key ring at .*keyring\.json/,
    );

    const other = await mkdtemp(join(tmpdir(), 'panda-other-'));
    const otherServer = await start({ dataDir: other });
    await otherServer.stop();
    await writeFile(keyringFile, await readFile(join(other, 'keyring.json'), 'utf8'), { mode: 0o600 });
    const wrong = await runCli('panda-server', ['--data-dir', server.dataDir, '--port', '0']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('does not match the database');

    await writeFile(keyringFile, original, { mode: 0o600 });
    const restored = await start({ dataDir: server.dataDir });
    expect(await secretsOf(restored.url, token)).toEqual({ K: 'v' });
  });

  it('refuses to rotate where there is no key ring or database, creating nothing', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'panda-')), 'typo');
    const result = await runCli('panda-server', ['rotate-key', '--data-dir', dir]);
    expect([result.code, result.stdout]).toEqual([1, '']);
    expect(result.stderr).toContain(`there is no key ring at ${join(dir, 'keyring.json')}: nothing to rotate`);
    await expect(readFile(join(dir, 'panda.db'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes the key ring from PANDA_SERVER_KEYRING and other options from PANDA_SERVER_*', async () => {
    const first = await start();
    await first.stop();
    const keyring = await readFile(join(first.dataDir, 'keyring.json'), 'utf8');
    await rm(join(first.dataDir, 'keyring.json'));
    const env = cleanEnv({ PANDA_SERVER_KEYRING: keyring, PANDA_SERVER_LOG_LEVEL: 'warn', PANDA_SERVER_PORT: '0' });
    const server = await start({ dataDir: first.dataDir, env });
    expect((await call(server.url, await server.token('alice'), ApiPath.getUserSecrets)).status).toBe(200);
    const token = await runCli('panda-server', ['token', '--data-dir', first.dataDir, '--user', 'bob'], { env });
    expect(token.code).toBe(0);
  });

  it('checks --port, and prints its version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'panda-'));
    for (const port of ['99999', 'abc', '-1']) {
      const result = await runCli('panda-server', ['--data-dir', dir, '--port', port]);
      expect([result.code, result.stderr]).toEqual([
        2,
        'panda-server: --port must be a whole number from 0 to 65535 (0 picks a free port)\n',
      ]);
    }
    const version = await runCli('panda-server', ['--version']);
    expect([version.code, version.stdout]).toEqual([0, '0.1.0\n']);
  });

  it('checks the job options before starting, changing nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'panda-'));
    const refusals: Array<[string[], string]> = [
      [['--job-lease', '0'], '--job-lease must be a positive whole number'],
      [['--job-lease', '1.5'], '--job-lease must be a positive whole number'],
      [['--max-attempts', '-2'], '--max-attempts must be a positive whole number'],
      [['--log-budget', '0'], '--log-budget must be a positive whole number'],
      [['--job-retention', '5x'], '--job-retention must be a duration such as 90s, 30m, 12h or 30d, not "5x"'],
    ];
    for (const [args, message] of refusals) {
      const result = await runCli('panda-server', ['--data-dir', join(dir, 'data'), '--port', '0', ...args]);
      expect([result.code, result.stderr]).toEqual([2, `panda-server: ${message}\n`]);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes its log file readable by the owner only', async () => {
    const server = await start();
    expect(((await stat(server.logFile)).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses a non-loopback address without TLS, and says how to allow it', async () => {
    const result = await runCli('panda-server', [
      '--data-dir',
      await mkdtemp(join(tmpdir(), 'panda-')),
      '--host',
      '0.0.0.0',
      '--port',
      '0',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refusing to listen on 0.0.0.0 without TLS');
    expect(result.stderr).toContain('--tls-cert and --tls-key, or --insecure');
  });

  it('serves HTTPS with --tls-cert and --tls-key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'panda-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const server = await start({ args: ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')] });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(join(dir, 'cert.pem'));
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

  it("mints tokens with the OIDC claims PanDA's client reads, once the server made its issuer key", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'panda-'));
    const early = await runCli('panda-server', ['token', '--data-dir', dir, '--user', 'alice']);
    expect([early.code, early.stdout]).toEqual([1, '']);
    expect(early.stderr).toBe(
      `panda-server: there is no issuer key at ${join(dir, 'issuer-key.json')}: start panda-server with this --data-dir once (it creates the key), or give --issuer-key-file\n`,
    );
    await (await start({ dataDir: dir })).stop();
    const result = await runCli('panda-server', [
      'token',
      '--data-dir',
      dir,
      '--user',
      'alice',
      '--groups',
      'atlas,cms',
      '--ttl',
      '2h',
    ]);
    expect(result.code).toBe(0);
    const payload = JSON.parse(Buffer.from(result.stdout.trim().split('.')[1] ?? '', 'base64url').toString('utf8'));
    expect(payload).toMatchObject({
      sub: 'alice',
      preferred_username: 'alice',
      name: 'alice',
      groups: ['atlas', 'cms'],
    });
    expect(payload.exp - payload.iat).toBe(7200);
    expect(payload.role).toBeUndefined();
    const bad = await runCli('panda-server', ['token', '--data-dir', dir, '--user', 'alice', '--ttl', 'forever']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid duration "forever"');
  });
});

describe('panda-server in OIDC mode', () => {
  it("verifies tokens against the issuer's JWKS found by discovery over HTTP", async () => {
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
      const server = await start({
        args: ['--oidc-issuer', issuer, '--oidc-audience', 'panda', '--oidc-group', 'atlas'],
      });
      const member = sign({ sub: 'u-123', preferred_username: 'jdoe', groups: ['atlas'] });
      expect((await call(server.url, member, ApiPath.setUserSecrets, { key: 'OIDC_KEY', value: 'v' })).status).toBe(
        200,
      );
      expect(await secretsOf(server.url, member)).toEqual({ OIDC_KEY: 'v' });
      const outsider = sign({ sub: 'u-456', preferred_username: 'eve', groups: ['cms'] });
      const refused = await call(server.url, outsider, ApiPath.getUserSecrets);
      expect(refused.status).toBe(403);
      expect(refused.json.message).toContain('atlas');
      const wrongAudience = sign({ sub: 'u-123', preferred_username: 'jdoe', groups: ['atlas'], aud: 'other' });
      expect((await call(server.url, wrongAudience, ApiPath.getUserSecrets)).status).toBe(403);
    } finally {
      idp.close();
    }
  });
});
