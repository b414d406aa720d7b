import { relative, sep } from 'node:path';
import { isPandaError } from '@panda-secrets/protocol';
import type { Masker } from './mask.js';

/** Masks a whole text (a log line, a note for the job's log) with a fresh masker of the job's secrets. */
export function redactor(newMasker: () => Masker): (text: string) => string {
  return (text) => {
    const masker = newMasker();
    return masker.write(text) + masker.end();
  };
}

/**
 * What the pilot says about an error that kept a job from running. Only two kinds of error keep
 * their words: ours, whose messages hold names and never values, and the operating system's,
 * named by their code, system call and path (`spawn bash: E2BIG`). Any other message may quote
 * what it was given, as Node's argument errors quote the whole environment of a spawn with its
 * secrets (`Received 'value'`), so only its code is told.
 */
export function describeRunError(error: unknown): string {
  if (isPandaError(error)) return error.message;
  const { code, syscall, path } = (error ?? {}) as NodeJS.ErrnoException;
  const what = typeof code === 'string' ? code : 'an unexpected error';
  if (typeof syscall === 'string')
    return `${syscall}${typeof path === 'string' && !syscall.endsWith(path) ? ` ${path}` : ''}: ${what}`;
  return `${what} (its message is not shown: it may quote the job's environment)`;
}

/** A frame of a stack trace that names a file by its absolute path (or file: URL, for a module), line and column. */
const FRAME = /^\s+at (?:.* \()?(?:file:\/\/)?(\/[^()]*):(\d+):\d+\)?$/;

/**
 * What the pilot's job supervisor says of the error that crashed it: the error's class, what
 * describeRunError lets through, and the first place of its stack in the files under `ownRoot`
 * (the pilot's own code: `dist/supervisor.js:120`). The frames are read after the message, so
 * nothing of the message is told, whatever it holds.
 */
export function describeCrash(error: unknown, ownRoot: string): string {
  const name = error instanceof Error && /^\w{1,64}$/.test(error.name) ? error.name : 'a thrown value';
  let place: string | undefined;
  if (error instanceof Error && typeof error.stack === 'string') {
    const header = `${error.name}: ${error.message}`;
    const frames = error.stack.startsWith(header) ? error.stack.slice(header.length) : '';
    for (const line of frames.split('\n')) {
      const [, file, row] = FRAME.exec(line) ?? [];
      if (file === undefined || !file.startsWith(`${ownRoot}${sep}`)) continue;
      place = `${relative(ownRoot, file)}:${row}`;
      break;
    }
  }
  return `${name}: ${describeRunError(error)}${place === undefined ? '' : ` at ${place}`}`;
}
