import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { writeRequestLine } from './request-line.js';
import type { SupervisorRequest } from './supervisor.js';

/** A pipe-like sink that takes 16 kB at a time and a write only on the next turn, so the writer waits for 'drain'. */
function slowSink(): { stream: Writable; writes: string[]; text: () => string; flushed: () => Promise<void> } {
  const writes: string[] = [];
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString('utf8'));
      void nextTurn().then(() => callback());
    },
  });
  return {
    stream,
    writes,
    text: () => writes.join(''),
    flushed: () => new Promise((resolve) => stream.end(resolve)),
  };
}

const REQUEST: SupervisorRequest = {
  jobId: 'job-1',
  command: 'wc -c < big.bin',
  env: { PATH: '/usr/bin', QUOTED: 'a "quoted" \\ value\n' },
  files: {},
  workRoot: '/tmp/jobs',
  keepWorkdir: false,
  killGraceMs: 3000,
};

describe('writeRequestLine', () => {
  it('writes one JSON line that reads back as the request, a large file in pieces as the pipe takes them', async () => {
    const request = { ...REQUEST, files: { 'big.bin': randomBytes(1_000_000).toString('base64'), 'a.pem': 'AAAA' } };
    const { stream, writes, text, flushed } = slowSink();
    await writeRequestLine(stream, request);
    await flushed();
    expect(text().endsWith('}\n')).toBe(true);
    expect(text().indexOf('\n')).toBe(text().length - 1);
    expect(JSON.parse(text())).toEqual(request);
    expect(Math.max(...writes.map((piece) => piece.length))).toBeLessThanOrEqual(64 * 1024);
  });

  it('escapes what JSON escapes, also where a piece ends inside a surrogate pair', async () => {
    const awkward = `${'x'.repeat(64 * 1024 - 1)}😀"\\\n${'é'.repeat(70_000)}`;
    const request = { ...REQUEST, files: { 'odd "name"': awkward } };
    const { stream, text, flushed } = slowSink();
    await writeRequestLine(stream, request);
    await flushed();
    expect(text().indexOf('\n')).toBe(text().length - 1);
    expect(JSON.parse(text())).toEqual(request);
  });

  it('writes a request without files as JSON.stringify does, in one write', async () => {
    const { stream, writes, text, flushed } = slowSink();
    await writeRequestLine(stream, REQUEST, '{"type":"run","id":1,"job":', '}');
    await flushed();
    expect(writes).toHaveLength(1);
    expect(JSON.parse(text())).toEqual({ type: 'run', id: 1, job: REQUEST });
  });

  it('writes small files with the rest of the line, in one write', async () => {
    const request = { ...REQUEST, files: { 'a.pem': 'AAAA', 'b.key': 'QkJC' } };
    const { stream, writes, text, flushed } = slowSink();
    await writeRequestLine(stream, request);
    await flushed();
    expect(writes).toHaveLength(1);
    expect(JSON.parse(text())).toEqual(request);
  });

  it('stops writing once the stream is gone', async () => {
    const { stream, writes } = slowSink();
    stream.destroy();
    await writeRequestLine(stream, { ...REQUEST, files: { 'big.bin': 'QUJD'.repeat(100_000) } });
    expect(writes).toEqual([]);
  });
});
