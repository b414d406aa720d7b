import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, freePort, runCli, startOidcProvider, startServer } from '@panda-secrets/testkit';
import type { RunningOidcProvider, RunningServer } from '@panda-secrets/testkit';
import { runSigningIn } from './testing/signin.js';

// End-to-end: the built pbook and prun sign in against a real OpenID provider (oidc-provider) on a
// loopback port, through panda-server's auth config; the "person" completes the sign-in over HTTP
// through the provider's own pages.

let idp: RunningOidcProvider;
let server: RunningServer;
const folders: string[] = [];
const servers: RunningServer[] = [];

beforeAll(async () => {
  // A confidential client, its secret published in the auth config (the interop test uses a public one).
  idp = await startOidcProvider({ clientId: 'panda-cli', clientSecret: 'published-client-secret' });
  server = await startServer({
    args: [
      '--oidc-issuer',
      idp.issuer,
      '--oidc-client-id',
      'panda-cli',
      '--oidc-client-secret',
      idp.clientSecret,
      '--oidc-vo',
      'atlas',
    ],
  });
}, 60_000);

afterEach(() => idp.setTtl({ idToken: 3600, deviceCode: 600 }));

afterAll(async () => {
  await Promise.all([server, ...servers].map((running) => running?.stop()));
  await idp?.close();
  await Promise.all(
    [server?.dataDir, ...servers.map((running) => running.dataDir), ...folders].map(
      (path) => path && rm(path, { recursive: true, force: true }),
    ),
  );
});

/** A fresh PANDA_CONFIG_ROOT (not yet created: the sign-in makes it) and the environment naming it. */
async function freshUser(url = server.url): Promise<{ env: NodeJS.ProcessEnv; cache: string; root: string }> {
  const parent = await mkdtemp(join(tmpdir(), 'pbook-signin-'));
  folders.push(parent);
  const root = join(parent, 'pathena');
  return {
    env: cleanEnv({ PANDA_URL_SSL: url, PANDA_AUTH_VO: 'atlas', PANDA_CONFIG_ROOT: root }),
    cache: join(root, '.token'),
    root,
  };
}

const signIn =
  (deny = false) =>
  (uri: string, code: string) =>
    idp.completeDeviceSignIn(uri, code, { login: 'jdoe', deny });

async function cacheOf(path: string): Promise<{ id_token: string; refresh_token: string }> {
  return JSON.parse(await readFile(path, 'utf8')) as { id_token: string; refresh_token: string };
}

async function login(env: NodeJS.ProcessEnv) {
  return runSigningIn('pbook', ['login'], { env, onPrompt: signIn() });
}

describe('signing in with the device flow', () => {
  it("signs in once, keeps PanDA's cache private, and reuses it without asking the provider", async () => {
    const { env, cache, root } = await freshUser();
    const first = await login(env);
    expect(first.code).toBe(0);
    expect(first.output).toMatch(/Please go to http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+ and sign in/);
    expect(first.output).toContain('signed in as jdoe');
    expect(first.output).toContain(`the sign-in is saved in ${cache}`);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect((await stat(cache)).mode & 0o777).toBe(0o600);
    const saved = await cacheOf(cache);
    expect(saved.refresh_token).toEqual(expect.any(String));
    expect(first.output).not.toContain(saved.id_token);
    expect(first.output).not.toContain(saved.refresh_token);

    const requests = idp.tokenRequests();
    const set = await runCli('pbook', ['set_secret', 'SIGNED_IN', 'value-1234'], { env });
    expect(set.code).toBe(0);
    const who = await runCli('pbook', ['whoami', '--json'], { env });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({
      user: 'jdoe',
      name: 'Jane Doe',
      groups: ['atlas', 'atlas/users'],
      issuer: idp.issuer,
      source: cache,
      expired: false,
    });
    const text = await runCli('pbook', ['whoami'], { env });
    expect(text.stdout).toMatch(
      /^user {4}jdoe\nname {4}Jane Doe\ngroups {2}atlas, atlas\/users\nissuer {2}http:\/\/127\.0\.0\.1:\d+\nexpires .*\(in (59|60) minutes\)\ntoken {3}from .*\.token\n$/,
    );
    const shell = await runCli('pbook', ['-c', 'whoami()'], { env });
    expect(shell.stdout).toMatch(/^user {4}jdoe\n/);
    expect(idp.tokenRequests()).toBe(requests);
    expect((await cacheOf(cache)).id_token).toBe(saved.id_token);
    const prun = await runCli(
      'prun',
      ['--exec', 'true', '--outDS', 'user.jdoe.x', '--useSecrets', '--noSubmit', '--json'],
      { env },
    );
    expect(prun.code).toBe(0);
    expect(prun.stdout).toContain('SIGNED_IN');

    // Signing out revokes the refresh token at the provider: it can no longer renew anything.
    const logout = await runCli('pbook', ['logout'], { env });
    expect(logout.code).toBe(0);
    expect(logout.stderr).toBe(`revoked the refresh token at the identity provider\nsigned out: removed ${cache}\n`);
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
      token_endpoint: string;
    };
    const renewal = await fetch(discovery.token_endpoint, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: 'panda-cli',
        client_secret: idp.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: saved.refresh_token,
      }),
    });
    expect(renewal.status).toBe(400);
    expect(await renewal.json()).toMatchObject({ error: 'invalid_grant' });
  }, 90_000);

  it('renews an expired ID token with the refresh token, without a person', async () => {
    idp.setTtl({ idToken: 2 });
    const { env, cache } = await freshUser();
    expect((await login(env)).code).toBe(0);
    const before = await cacheOf(cache);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const requests = idp.tokenRequests();
    const listed = await runCli('pbook', ['list-secrets'], { env });
    expect(listed.code).toBe(0);
    expect(idp.tokenRequests()).toBe(requests + 1);
    const after = await cacheOf(cache);
    expect(after.id_token).not.toBe(before.id_token);
    expect(after.refresh_token).not.toBe(before.refresh_token);
  }, 90_000);

  it('signs in anew on a terminal when the refresh token was revoked', async () => {
    idp.setTtl({ idToken: 2 });
    const { env, cache } = await freshUser();
    expect((await login(env)).code).toBe(0);
    const revoked = (await cacheOf(cache)).refresh_token;
    await idp.revoke(revoked);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const run = await runSigningIn('pbook', ['list-secrets'], { env, terminal: true, onPrompt: signIn() });
    expect(run.code).toBe(0);
    expect(run.output).toContain('the saved sign-in could not be renewed (invalid_grant); signing in again');
    expect(run.output).toContain('signed in as jdoe');
    // The QR code of the sign-in link is drawn on a terminal.
    expect(run.output).toMatch(/[▀▄█]{10}/);
    expect((await cacheOf(cache)).refresh_token).not.toBe(revoked);
  }, 90_000);

  it('fails with exit 4 when the person denies the sign-in, and saves nothing', async () => {
    const { env, cache } = await freshUser();
    const run = await runSigningIn('pbook', ['login'], { env, onPrompt: signIn(true) });
    expect(run.code).toBe(4);
    expect(run.output).toContain('pbook: the sign-in was denied at the identity provider');
    await expect(stat(cache)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 90_000);

  it('fails with exit 4 when the code expires before anyone signs in', async () => {
    idp.setTtl({ deviceCode: 2 });
    const { env } = await freshUser();
    const run = await runSigningIn('pbook', ['login'], { env });
    expect(run.code).toBe(4);
    expect(run.output).toContain(
      'pbook: the sign-in code expired before the sign-in was completed; run "pbook login" to get a new one',
    );
  }, 90_000);

  it('fails at once with exit 4 without a terminal, and on a damaged cache says so', async () => {
    const { env, cache, root } = await freshUser();
    const requests = idp.tokenRequests();
    for (const [name, args] of [
      ['pbook', ['list-secrets']],
      ['prun', ['--exec', 'true', '--outDS', 'user.jdoe.x']],
    ] as const) {
      const run = await runSigningIn(name, [...args], { env });
      expect(run.code).toBe(4);
      expect(run.output).toContain(
        `${name}: no token, and signing in needs a person at a terminal: run "pbook login" on one`,
      );
      expect(run.elapsedMs).toBeLessThan(15_000);
    }
    expect(idp.tokenRequests()).toBe(requests);
    await mkdir(root, { recursive: true });
    await writeFile(cache, '{"access_token": "x"');
    const damaged = await runCli('pbook', ['list-secrets'], { env });
    expect(damaged.code).toBe(4);
    expect(damaged.stderr).toContain(
      `warning: the saved sign-in ${cache} is not JSON (damaged, or written by another program); ignoring it`,
    );
    await writeFile(cache, '{"token": "foreign"}');
    const foreign = await runCli('pbook', ['whoami'], { env });
    expect(foreign.code).toBe(4);
    expect(foreign.stderr).toContain(`the saved sign-in ${cache} holds no "id_token"`);
    const logout = await runCli('pbook', ['logout'], { env });
    expect(logout.code).toBe(0);
    expect(logout.stderr).toBe(`signed out: removed ${cache}\n`);
    expect((await runCli('pbook', ['logout'], { env })).stderr).toBe(`not signed in: there is no ${cache}\n`);
  }, 90_000);

  it('fails with exit 1 and a clear message when the identity provider is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const other = await startServer({ args: ['--oidc-issuer', down, '--oidc-client-id', 'panda-cli'] });
    servers.push(other);
    const { env } = await freshUser(other.url);
    const run = await runSigningIn('pbook', ['login'], { env });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`pbook: cannot reach the identity provider at ${down} (connection refused)`);
  }, 90_000);

  it('is refused with exit 4 by a server that expects another audience', async () => {
    const other = await startServer({
      args: [
        '--oidc-issuer',
        idp.issuer,
        '--oidc-client-id',
        'panda-cli',
        '--oidc-client-secret',
        idp.clientSecret,
        '--oidc-audience',
        'another-service',
      ],
    });
    servers.push(other);
    const { env } = await freshUser(other.url);
    expect((await login(env)).code).toBe(0);
    const listed = await runCli('pbook', ['list-secrets'], { env });
    expect(listed.code).toBe(4);
    expect(listed.stderr).toBe('pbook: the token was refused: audience not accepted\n');
  }, 90_000);
});
