import { parse } from 'dotenv';
import { FILE_PREFIX, PandaError, listProblems, quoteName, validateSecret } from '@panda-secrets/protocol';
import type { ImportFormat } from './index.js';

/** One secret of an import, by wire key (`NAME`, or `___file___:NAME` with the bytes in base64). */
export interface ImportEntry {
  key: string;
  value: string;
}

/** An entry as a file's reader found it: the entry, or what is wrong with it. */
type ReadEntry = { entry?: ImportEntry; problem?: string };

function invalid(file: string, problems: readonly string[]): PandaError {
  return new PandaError('INVALID_INPUT', `${file}: ${listProblems(problems)}; nothing was imported`);
}

/** The entries of the JSON `pbook list-secrets --json --full` prints: [{key, type, value, ...}]. */
function jsonEntries(text: string, file: string): ReadEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // JSON.parse's own message quotes the text around the fault, which may be a value: only its position is told.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new PandaError(
      'INVALID_INPUT',
      `${file} is not valid JSON${position === undefined ? '' : ` (at character ${position})`}; give the output of pbook list-secrets --json --full, or a .env file`,
    );
  }
  if (!Array.isArray(parsed))
    throw new PandaError(
      'INVALID_INPUT',
      `${file} must hold a JSON array of {key, type, value}, as pbook list-secrets --json --full prints`,
    );
  return parsed.map((item: unknown, index) => {
    const { key, type, value } = (item ?? {}) as { key?: unknown; type?: unknown; value?: unknown };
    const where = typeof key === 'string' ? quoteName(key) : `entry ${index + 1}`;
    if (typeof key !== 'string' || typeof value !== 'string' || (type !== 'env' && type !== 'file')) {
      return { problem: `${where} is not {"key": string, "type": "env" or "file", "value": string}` };
    }
    return { entry: { key: type === 'file' ? FILE_PREFIX + key : key, value } };
  });
}

/**
 * A `.env` line defining `__proto__`, which dotenv's reader drops without a word (it assigns to a
 * plain object): found here so that the import refuses it rather than leaving that secret out.
 */
const DOTENV_PROTO_LINE = /^[ \t]*(?:export[ \t]+)?__proto__(?:[ \t]*=|:[ \t])/m;

/** The entries of a `.env` file, as dotenv reads it. */
function dotenvEntries(text: string): ReadEntry[] {
  const read: ReadEntry[] = Object.entries(parse(text)).map(([key, value]) => ({
    entry: { key, value },
  }));
  if (DOTENV_PROTO_LINE.test(text)) {
    read.unshift({
      problem: `"__proto__" cannot be read from a .env file; set it with pbook set_secret, or import it from JSON`,
    });
  }
  return read;
}

/**
 * The secrets a file holds, every one checked (name, size, and base64 for files) before anything
 * is sent: all problems are reported together, naming keys but never values.
 */
export function importEntries(text: string, file: string, format: ImportFormat | undefined): ImportEntry[] {
  const asJson = format === 'json' || (format === undefined && text.trimStart().startsWith('['));
  const read = asJson ? jsonEntries(text, file) : dotenvEntries(text);
  const problems: string[] = [];
  const entries: ImportEntry[] = [];
  const seen = new Set<string>();
  for (const { entry, problem } of read) {
    if (entry === undefined) {
      problems.push(problem ?? 'an unreadable entry');
      continue;
    }
    if (seen.has(entry.key)) problems.push(`${quoteName(entry.key)} appears more than once`);
    seen.add(entry.key);
    try {
      validateSecret(entry.key, entry.value);
    } catch (error) {
      problems.push((error as Error).message);
    }
    entries.push(entry);
  }
  if (problems.length > 0) throw invalid(file, problems);
  if (entries.length === 0) throw new PandaError('INVALID_INPUT', `${file} holds no secrets: nothing was imported`);
  return entries;
}
