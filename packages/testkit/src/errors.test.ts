import { describe, expect, it } from '@jest/globals';
import { createConnection } from 'node:net';
import { PandaError } from '@panda-secrets/protocol';
import { pandaErrorOf } from './errors.js';
import { freePort } from './ports.js';

describe('pandaErrorOf', () => {
  it('returns the PandaError of a promise or of a function, sync or async', async () => {
    const error = new PandaError('NOT_FOUND', 'no secret "K"');
    expect(await pandaErrorOf(Promise.reject(error), 'NOT_FOUND')).toBe(error);
    expect(
      await pandaErrorOf(() => {
        throw error;
      }),
    ).toBe(error);
    expect(
      await pandaErrorOf(async () => {
        throw error;
      }, 'NOT_FOUND'),
    ).toBe(error);
  });

  it('fails the test on success, on another code and on an error that is not a PandaError', async () => {
    await expect(pandaErrorOf(Promise.resolve('fine'))).rejects.toThrow();
    await expect(pandaErrorOf(Promise.reject(new PandaError('USAGE', 'x')), 'NOT_FOUND')).rejects.toThrow();
    await expect(
      pandaErrorOf(() => {
        throw new Error('plain');
      }),
    ).rejects.toThrow();
  });
});

describe('freePort', () => {
  it('gives a port of 127.0.0.1 that nothing listens on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
