import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './server.js';

/** Where PanDA's own Python client is unpacked, beside the repository (read-only). */
export const PANDA_CLIENT_PEER = join(REPO_ROOT, '..', 'shared', 'peers', 'panda-client');
/** Debian's python3, which has what PanDA's client imports once python3-rich and python3-certifi are installed. */
const PYTHON = '/usr/bin/python3';

/**
 * PanDA's client folder, or null when it is absent: then the interop tests are skipped, with one
 * line saying so. Under CI (`CI=true`) its absence is an error instead.
 */
export function pandaClientPeer(): string | null {
  const folder = process.env.PANDA_CLIENT_PEER || PANDA_CLIENT_PEER;
  const reason = !existsSync(join(folder, 'pandaclient', 'PBookScript.py'))
    ? `PanDA's client is not at ${folder}`
    : spawnSync(PYTHON, ['-c', 'import rich, certifi'], { stdio: 'ignore' }).status !== 0
      ? `${PYTHON} cannot import rich and certifi (apt-get install -y python3-rich python3-certifi)`
      : undefined;
  if (reason === undefined) return folder;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI runs the interop tests`);
  process.stderr.write(`PanDA interop tests skipped: ${reason}; set PANDA_CLIENT_PEER to its folder to run them\n`);
  return null;
}

export interface PandaPbookRun {
  code: number | null;
  output: string;
}

/**
 * Runs PanDA's own pbook (`-c STATEMENTS`) against panda-server at `server` in OIDC mode, with its
 * token cache in `configRoot`. When it asks the person to sign in, `onPrompt` gets the sign-in
 * link; once it resolves, pbook is told "y" (PanDA asks "Ready to get ID token?").
 */
export function runPandaPbook(
  peer: string,
  statements: string,
  env: { server: string; vo: string; configRoot: string },
  onPrompt?: (verificationUriComplete: string) => Promise<unknown>,
  timeoutMs = 120_000,
): Promise<PandaPbookRun> {
  const child = spawn(PYTHON, ['-c', 'import pandaclient.PBookScript as p; p.main()', '-c', statements], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: env.configRoot,
      PYTHONPATH: peer,
      // The peer's folder is read-only: no __pycache__ is written into it.
      PYTHONDONTWRITEBYTECODE: '1',
      PANDA_AUTH: 'oidc',
      PANDA_AUTH_VO: env.vo,
      PANDA_BEHIND_REAL_LB: '1',
      PANDA_CONFIG_ROOT: env.configRoot,
      PANDA_URL_SSL: `${env.server}/server/panda`,
      PANDA_URL: `${env.server}/server/panda`,
      PANDACACHE_URL: `${env.server}/server/panda`,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    let prompted: Promise<unknown> = Promise.resolve();
    let seen = false;
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /Please go to (\S+) and sign in/.exec(output);
      if (match !== null && !seen) {
        seen = true;
        prompted = (
          onPrompt?.(match[1] as string) ?? Promise.reject(new Error("PanDA's pbook asked for a sign-in"))
        ).then(() => child.stdin.write('y\n'));
        prompted.catch(() => child.kill('SIGKILL'));
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      prompted.then(() => resolve({ code, output }), reject);
    });
    child.stdin.on('error', () => undefined);
  });
}
