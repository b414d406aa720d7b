import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lazyClient } from '@panda-secrets/cli-kit';
import { ApiPath } from '@panda-secrets/protocol';
import { callApi } from '@panda-secrets/testkit';
import { outputCollector } from '@panda-secrets/testkit/unit';
import type { Deps } from '../commands/spec.js';
import { main } from '../program.js';

/** The version in panda-server's package.json, which its entry point hands to main. */
export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** What a run of panda-server printed and its exit code. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Deps of a panda-server command run in this process: captured output, `env`, a stop the test
 * gives, and the client runProgram adds (which panda-server never asks for).
 */
export function serverDeps(env: Readonly<Record<string, string | undefined>> = {}) {
  const stdout = outputCollector();
  const stderr = outputCollector();
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const deps: Deps = {
    env,
    stdout: stdout.stream,
    stderr: stderr.stream,
    waitForStop: () => stopped,
    client: lazyClient(() => Promise.reject(new Error('panda-server makes no API client'))),
  };
  return { deps, stdout: stdout.text, stderr: stderr.text, stop: () => stop() };
}

/** Runs `panda-server ARGS` in this process, as its entry point does, with `env` as its environment. */
export async function runPandaServer(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<Ran> {
  const { deps, stdout, stderr } = serverDeps(env);
  const code = await main([...args], deps, VERSION);
  return { code, stdout: stdout(), stderr: stderr() };
}

/** `panda-server serve` running in this process. */
export interface Serving {
  url: string;
  dataDir: string;
  /** A token of the local issuer, minted by `panda-server token`. */
  token(user: string, role?: 'pilot'): Promise<string>;
  /** Stops the server as SIGTERM does and gives what it printed and its exit code. */
  stop(): Promise<Ran>;
}

/**
 * Starts `panda-server serve --data-dir DIR --port 0 ARGS` in this process (without --port when
 * `env` names PANDA_SERVER_PORT) and waits until it listens; rejects with its output when it ends
 * first.
 */
export async function serve(
  dataDir: string,
  args: readonly string[] = [],
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<Serving> {
  const { deps, stdout, stderr, stop } = serverDeps(env);
  const port = env.PANDA_SERVER_PORT === undefined ? ['--port', '0'] : [];
  const ended = main(['serve', '--data-dir', dataDir, ...port, ...args], deps, VERSION).then((code) => ({
    code,
    stdout: stdout(),
    stderr: stderr(),
  }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const listening = /^panda-server listening on (\S+)\n/.exec(stdout());
      if (listening?.[1] === undefined) return;
      clearInterval(timer);
      resolve(listening[1]);
    }, 10);
    void ended.then((ran) => {
      clearInterval(timer);
      reject(new Error(`panda-server ended before listening: ${JSON.stringify(ran)}`));
    });
  });
  return {
    url,
    dataDir,
    token: async (user, role) => {
      const minted = await runPandaServer(
        ['token', '--data-dir', dataDir, '--user', user, ...(role === undefined ? [] : ['--role', role])],
        env,
      );
      if (minted.code !== 0) throw new Error(`panda-server token failed: ${minted.stderr}`);
      return minted.stdout.trim();
    },
    stop: () => {
      stop();
      return ended;
    },
  };
}

/** The temporary folders and in-process servers of one test file: `cleanUp` stops and removes them all. */
export function testScratch(prefix: string) {
  const running: Serving[] = [];
  const dirs: string[] = [];
  return {
    /** A fresh temporary folder. */
    async dir(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    /** serve(), stopped at clean-up if the test did not stop it. */
    async serve(...args: Parameters<typeof serve>): Promise<Serving> {
      const server = await serve(...args);
      running.push(server);
      return server;
    },
    async cleanUp(): Promise<void> {
      await Promise.all(running.map((server) => server.stop()));
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** The caller's secrets as get_user_secrets returns them. */
export async function secretsOf(url: string, token: string): Promise<Record<string, string>> {
  const { json } = await callApi(url, token, ApiPath.getUserSecrets);
  return JSON.parse(json.data as string) as Record<string, string>;
}
