import type { Writable } from 'node:stream';
import type { SupervisorRequest } from './supervisor.js';

/** Characters of a file secret's base64 written at a time. */
const PIECE = 64 * 1024;

/** True when `text` holds nothing JSON escapes (base64 never does): it goes out as it is. */
function isJsonPlain(text: string): boolean {
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return false;
  }
  return true;
}

/** Waits until `stream` takes more (or is gone, when the supervisor ended early). */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/**
 * Writes `request` to a supervisor's stdin as its one JSON line, in writes of at most a piece (one
 * write for a request without large files), the file secrets' base64 a piece at a time as the pipe
 * takes it: the line of a job with a 1 MB file is never one string, nor one buffer, in the pilot.
 * The line is what `JSON.stringify(request)` would give, with `files` last, between `head` and
 * `tail` (the supervisor's envelope of a job).
 * Nothing else may be written to `stream` until the returned promise resolves.
 */
export async function writeRequestLine(
  stream: Writable,
  request: SupervisorRequest,
  head = '',
  tail = '',
): Promise<void> {
  // The text goes out in writes of up to a piece (one for a job without large files): each write
  // to the pipe wakes the supervisor.
  let pending = '';
  const flush = async (): Promise<void> => {
    const text = pending;
    pending = '';
    if (text === '' || stream.destroyed || stream.writableEnded) return;
    if (!stream.write(text)) await drained(stream);
  };
  const write = async (text: string): Promise<void> => {
    if (pending.length + text.length > PIECE) await flush();
    pending += text;
  };
  const { files, ...rest } = request;
  await write(`${head}${JSON.stringify(rest).slice(0, -1)},"files":{`);
  let separator = '';
  for (const [name, content] of Object.entries(files)) {
    await write(`${separator}${JSON.stringify(name)}:"`);
    // Each piece escaped on its own reads back the same: a surrogate pair cut in two becomes two \u escapes.
    const asJson = isJsonPlain(content)
      ? (piece: string) => piece
      : (piece: string) => JSON.stringify(piece).slice(1, -1);
    for (let at = 0; at < content.length; at += PIECE) await write(asJson(content.slice(at, at + PIECE)));
    await write('"');
    separator = ',';
  }
  await write(`}}${tail}\n`);
  await flush();
}
