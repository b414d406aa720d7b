import { Writable } from 'node:stream';

/** A stream standing in for stdout or stderr in a unit test, and what was written to it so far. */
export function outputCollector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}
