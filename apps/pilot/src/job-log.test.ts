import { describe, expect, it } from '@jest/globals';
import { createJobLog, splitChunks } from './job-log.js';

describe('splitChunks', () => {
  it('cuts at the size but never between the halves of a surrogate pair', () => {
    expect(splitChunks('abcdefg', 3)).toEqual(['abc', 'def', 'g']);
    expect(splitChunks('ab😀cd', 3)).toEqual(['ab', '😀c', 'd']);
    expect(splitChunks('', 3)).toEqual(['']);
  });
});

describe('createJobLog', () => {
  it('sends a chunk as soon as a chunk has gathered, in order, and returns the rest on close', async () => {
    const sent: string[] = [];
    const log = createJobLog({ send: async (chunk) => void sent.push(chunk), onSendError: () => undefined, maxChunk: 4, intervalMs: 60_000 });
    log.add('ab');
    expect(sent).toEqual([]);
    log.add('cdefghij');
    expect(await log.close()).toEqual(['']);
    expect(sent).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('keeps a chunk whose send failed and sends it again before newer text', async () => {
    const sent: string[] = [];
    const errors: unknown[] = [];
    let fail = true;
    const log = createJobLog({
      send: async (chunk) => {
        if (fail) {
          fail = false;
          throw new Error('server away');
        }
        sent.push(chunk);
      },
      onSendError: (error) => errors.push(error),
      maxChunk: 4,
      intervalMs: 60_000,
    });
    log.add('abcd');
    log.add('efgh');
    expect(await log.close()).toEqual(['']);
    expect(sent).toEqual(['abcd', 'efgh']);
    expect(errors).toEqual([new Error('server away')]);
  });
});

describe('createJobLog when the server stays away', () => {
  it('returns everything unsent on close, for the final update', async () => {
    const log = createJobLog({
      send: async () => {
        throw new Error('server away');
      },
      onSendError: () => undefined,
      maxChunk: 4,
      intervalMs: 60_000,
    });
    log.add('abcdef');
    expect(await log.close()).toEqual(['abcd', 'ef']);
  });
});
