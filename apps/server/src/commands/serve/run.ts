import { open, readFile } from 'node:fs/promises';
import { PandaError, isLoopbackHost } from '@panda-secrets/protocol';
import type { FastifyInstance } from 'fastify';
import { createServer } from '../../app.js';
import { startMaintenance } from '../../maintenance.js';
import { openServerContext, type ServerSettings } from '../../setup.js';

export interface ServeOptions {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  insecure: boolean;
  logFile?: string;
  logLevel: string;
}

/** Refuses to serve secrets in clear text to the network. */
export function checkTransport(options: Pick<ServeOptions, 'host' | 'tlsCert' | 'tlsKey' | 'insecure'>): void {
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

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Opens everything, listens, and returns the address; the caller prints it and handles signals. */
export async function runServe(
  settings: ServerSettings,
  options: ServeOptions,
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
