import { open, readFile } from 'node:fs/promises';
import { ExitCode, PandaError, isLoopbackHost } from '@panda-secrets/protocol';
import type { FastifyInstance } from 'fastify';
import { createServer } from '../../app.js';
import { startMaintenance } from '../../maintenance.js';
import { openServerContext, type ServerSettings } from '../../setup.js';
import { serverSettings } from '../settings.js';
import type { Deps, GlobalOptions } from '../spec.js';
import type { ListenOptions, ServeOptions } from './index.js';

/** Refuses to serve secrets in clear text to the network. */
function checkTransport(options: Pick<ListenOptions, 'host' | 'tlsCert' | 'tlsKey' | 'insecure'>): void {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new PandaError('USAGE', 'TLS needs both --tls-cert and --tls-key');
  }
  if (options.tlsCert === undefined && !options.insecure && !isLoopbackHost(options.host)) {
    throw new PandaError(
      'USAGE',
      `refusing to listen on ${options.host} without TLS: tokens and secrets would cross the network in clear text; ` +
        'give --tls-cert and --tls-key, or --insecure if a TLS proxy terminates in front of this server',
    );
  }
}

/** The log names users and keys: it is created (or tightened to) mode 0600 before pino appends to it. */
async function createPrivateLog(path: string): Promise<void> {
  const handle = await open(path, 'a', 0o600);
  try {
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
}

interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Opens everything, listens, and returns the address. */
async function listen(
  settings: ServerSettings,
  options: ListenOptions,
  logStream: NodeJS.WritableStream,
): Promise<RunningServer> {
  checkTransport(options);
  const https =
    options.tlsCert !== undefined && options.tlsKey !== undefined
      ? { cert: await readFile(options.tlsCert), key: await readFile(options.tlsKey) }
      : undefined;
  if (options.logFile !== undefined) await createPrivateLog(options.logFile);
  const opened = await openServerContext(settings);
  try {
    const app = await createServer(opened.context, {
      logger: options.logFile
        ? { level: options.logLevel, file: options.logFile }
        : { level: options.logLevel, stream: logStream },
      ...(https ? { https } : {}),
    });
    await app.listen({ host: options.host, port: options.port });
    const maintenance = startMaintenance(opened.context, app.log);
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
    return {
      app,
      url: `${https ? 'https' : 'http'}://${host}:${port}`,
      async close() {
        await maintenance.stop();
        await app.close();
        await opened.close();
      },
    };
  } catch (error) {
    await opened.close();
    throw error;
  }
}

/**
 * Runs the server: checks the options, opens the store and key ring, listens, says where on
 * stdout (`panda-server listening on URL`) and serves until `deps.waitForStop()` resolves, then
 * closes everything and exits 0. The JSON log goes to stderr, or to --log-file.
 */
export async function runServe(deps: Deps, _global: GlobalOptions, options: ServeOptions): Promise<number> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new PandaError('USAGE', '--port must be a whole number from 0 to 65535 (0 picks a free port)');
  }
  const running = await listen(serverSettings(options, deps.env), options, deps.stderr);
  deps.stdout.write(`panda-server listening on ${running.url}\n`);
  await deps.waitForStop();
  await running.close();
  return ExitCode.OK;
}
