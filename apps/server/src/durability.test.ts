import { afterAll, describe, expect, it } from '@jest/globals';
import { ApiPath } from '@panda-secrets/protocol';
import { callApi, startServer, type RunningServer } from '@panda-secrets/testkit';

const started: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
});

describe('panda-server on SQLite, killed with SIGKILL', () => {
  it('keeps every set it acknowledged, also with sets still in flight when it dies', async () => {
    const first = await startServer();
    started.push(first);
    const token = await first.token('alice');
    const acknowledged: string[] = [];
    let next = 0;
    let killed = false;
    // Eight clients set keys back to back; the server is killed once 300 sets were acknowledged.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (!killed) {
          const key = `KEY_${next++}`;
          const answer = await callApi(first.url, token, ApiPath.setUserSecrets, {
            key,
            value: `value-of-${key}`,
          }).catch(() => null);
          if (answer === null) return;
          expect(answer.status).toBe(200);
          acknowledged.push(key);
          if (acknowledged.length === 300 && !killed) {
            killed = true;
            first.process.kill('SIGKILL');
          }
        }
      }),
    );
    await first.stop();

    const second = await startServer({ dataDir: first.dataDir });
    started.push(second);
    const { json } = await callApi(second.url, token, ApiPath.getUserSecrets);
    const stored = JSON.parse(json.data as string) as Record<string, string>;
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    for (const key of acknowledged) expect(stored[key]).toBe(`value-of-${key}`);
  }, 60_000);
});
