import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from '@jest/globals';
import { cleanEnv, runCli, startServer, type RunningServer } from '@panda-secrets/testkit';

// pbook against a panda-server with a low --rate-limit: the server's refusal reaches the user as is.

describe('pbook over its rate', () => {
  let server: RunningServer;
  afterAll(() => server?.stop());

  it("exits 7 with the server's message, after one round of calls: it does not retry by itself", async () => {
    // Each listing makes two calls (the metadata, then the values): two listings take the 4 allowed.
    server = await startServer({ args: ['--rate-limit', '4'] });
    const env = cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: await server.token('alice') });
    for (let n = 0; n < 2; n += 1) expect((await runCli('pbook', ['list-secrets', '--json'], { env })).code).toBe(0);
    const refused = await runCli('pbook', ['list-secrets', '--json'], { env });
    expect([refused.code, refused.stdout]).toEqual([7, '']);
    expect(refused.stderr).toMatch(/^pbook: too many requests: at most 4 per minute per user; try again in \d+ s\n$/);
    const requests = readFileSync(server.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"incoming request"'));
    // Three listings of two calls each: the refused one's calls were made once and not retried.
    expect(requests).toHaveLength(6);
  });
});
