import { createServer as createNetServer } from 'node:net';

/** A TCP port of 127.0.0.1 that was free a moment ago, for a daemon that cannot take port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
