import { describe, expect, it } from '@jest/globals';
import { setTimeout as delay } from 'node:timers/promises';
import { createJobLog, splitChunks } from './job-log.js';
import type { JobLogOptions } from './job-log.js';

/** Waits until `condition` holds; the test's timeout fails the test if it never does. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(5);
}

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
    const log = createJobLog({
      send: async (chunk) => void sent.push(chunk),
      onSendError: () => 'retry',
      maxChunk: 4,
      intervalMs: 60_000,
    });
    log.add('ab');
    expect(sent).toEqual([]);
    log.add('cdefghij');
    expect(await log.close()).toEqual(['']);
    expect(sent).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('keeps a chunk whose send failed and sends it again at the next interval, before newer text', async () => {
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
      onSendError: (error) => {
        errors.push(error);
        return 'retry';
      },
      maxChunk: 4,
      intervalMs: 20,
    });
    log.add('abcd');
    log.add('efgh');
    await waitUntil(() => sent.length === 2);
    expect(await log.close()).toEqual(['']);
    expect(sent).toEqual(['abcd', 'efgh']);
    expect(errors).toEqual([new Error('server away')]);
  });
});

/** A job log whose first `failures` sends fail (all of them by default); counts the attempts and keeps what was sent. */
function failingLog(
  settings: Pick<JobLogOptions, 'maxChunk' | 'maxUnsent' | 'intervalMs'> & {
    failures?: number;
    onFailure?: 'retry' | 'stop';
  },
) {
  const sent: string[] = [];
  let attempts = 0;
  const log = createJobLog({
    send: async (chunk) => {
      attempts += 1;
      if (attempts <= (settings.failures ?? Infinity)) throw new Error('server away');
      sent.push(chunk);
    },
    onSendError: () => settings.onFailure ?? 'retry',
    ...settings,
  });
  return { log, sent, attempts: () => attempts };
}

const NOTE = (count: number): string =>
  `\npanda-pilot: ${count} characters of the job's output were dropped here: the server did not take the log\n`;

describe('createJobLog when the server stays away', () => {
  it('returns everything unsent on close, for the final update', async () => {
    const { log } = failingLog({ maxChunk: 4, intervalMs: 60_000 });
    log.add('abcdef');
    expect(await log.close()).toEqual(['abcd', 'ef']);
  });

  it('keeps at most maxUnsent characters, and one note says how many were dropped', async () => {
    const { log, attempts } = failingLog({ maxChunk: 8, maxUnsent: 10, intervalMs: 60_000 });
    log.add('12345678');
    await waitUntil(() => attempts() === 1);
    for (let line = 0; line < 1000; line += 1) log.add('abcd');
    expect(attempts()).toBe(1);
    expect((await log.close()).join('')).toBe(`12345678ab${NOTE(3998)}`);
  });

  it('when the server is back, sends the note where the text was dropped, then what came after', async () => {
    const { log, sent, attempts } = failingLog({ maxChunk: 1000, maxUnsent: 6, intervalMs: 20, failures: 1 });
    log.add('abc');
    await waitUntil(() => attempts() === 1);
    log.add('defgh');
    await waitUntil(() => sent.length === 1);
    log.add('after');
    const rest = await log.close();
    expect(sent[0]).toBe('abcdef');
    expect(sent.join('') + rest.join('')).toBe(`abcdef${NOTE(2)}after`);
  });
});

describe('createJobLog after an error another try would not mend', () => {
  it('stops sending, and keeps at most maxUnsent characters for the final report', async () => {
    const { log, attempts } = failingLog({ maxChunk: 4, maxUnsent: 8, intervalMs: 5, onFailure: 'stop' });
    log.add('abcd');
    await waitUntil(() => attempts() === 1);
    for (let line = 0; line < 100; line += 1) log.add('line\n');
    await delay(50);
    expect(attempts()).toBe(1);
    expect((await log.close()).join('')).toBe(`abcdline${NOTE(496)}`);
  });
});
