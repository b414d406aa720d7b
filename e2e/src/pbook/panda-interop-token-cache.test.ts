import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanEnv,
  pandaClientPeer,
  runCli,
  runPandaPbook,
  startOidcProvider,
  startServer,
} from '@panda-secrets/testkit';
import type { RunningOidcProvider, RunningServer } from '@panda-secrets/testkit';
import { runSigningIn } from '../testing/signin.js';

// One sign-in for both clients: a token cached by PanDA's own pbook (Python, from
// ../shared/peers/panda-client) is used by ours, and one cached by ours by PanDA's.

const peer = pandaClientPeer();
const describePeer = peer === null ? describe.skip : describe;

describePeer("sharing PanDA's token cache with PanDA's own pbook", () => {
  let idp: RunningOidcProvider;
  let server: RunningServer;
  const folders: string[] = [];

  beforeAll(async () => {
    // A public client: PanDA's client asks for a device code with its client id alone.
    idp = await startOidcProvider({ clientId: 'panda-cli' });
    server = await startServer({
      args: ['--oidc-issuer', idp.issuer, '--oidc-client-id', 'panda-cli', '--oidc-vo', 'atlas'],
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await idp?.close();
    await Promise.all([server?.dataDir, ...folders].map((path) => path && rm(path, { recursive: true, force: true })));
  });

  async function configRoot(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'panda-interop-'));
    folders.push(root);
    return root;
  }

  const envOf = (root: string) =>
    cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_VO: 'atlas', PANDA_CONFIG_ROOT: root });

  it("uses the sign-in PanDA's pbook saved", async () => {
    const root = await configRoot();
    const panda = await runPandaPbook(
      peer as string,
      "set_secret('FROM_PANDA', 'panda-value')",
      { server: server.url, vo: 'atlas', configRoot: root },
      (link) => idp.completeDeviceSignIn(link, new URL(link).searchParams.get('user_code') ?? '', { login: 'jdoe' }),
    );
    expect(panda.output).toContain('Please go to');
    expect(panda.code).toBe(0);
    const saved = JSON.parse(await readFile(join(root, '.token'), 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ id_token: expect.any(String), refresh_token: expect.any(String) });

    const requests = idp.tokenRequests();
    const listed = await runCli('pbook', ['list-secrets', '--json'], { env: envOf(root) });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      { key: 'FROM_PANDA', type: 'env', value: 'panda-value', size: 11, updatedAt: expect.any(String) },
    ]);
    const who = await runCli('pbook', ['whoami', '--json'], { env: envOf(root) });
    expect(JSON.parse(who.stdout)).toMatchObject({ user: 'jdoe', groups: ['atlas', 'atlas/users'] });
    expect(idp.tokenRequests()).toBe(requests);
  }, 180_000);

  it("saves a sign-in that PanDA's pbook uses without asking", async () => {
    const root = await configRoot();
    const login = await runSigningIn('pbook', ['login'], {
      env: envOf(root),
      onPrompt: (uri, code) => idp.completeDeviceSignIn(uri, code, { login: 'jdoe' }),
    });
    expect(login.code).toBe(0);
    expect((await runCli('pbook', ['set_secret', 'FROM_OURS', 'ours-value'], { env: envOf(root) })).code).toBe(0);

    const requests = idp.tokenRequests();
    const panda = await runPandaPbook(peer as string, 'list_secrets()', {
      server: server.url,
      vo: 'atlas',
      configRoot: root,
    });
    expect(panda.code).toBe(0);
    expect(panda.output).not.toContain('Please go to');
    expect(panda.output).toContain('FROM_OURS');
    expect(panda.output).toContain('ours-value');
    expect(idp.tokenRequests()).toBe(requests);
  }, 180_000);
});
