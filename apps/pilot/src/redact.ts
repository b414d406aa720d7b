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
