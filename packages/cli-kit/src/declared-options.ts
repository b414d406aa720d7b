import type { Argv } from 'yargs';

/** What yargs' `getOptions()` tells of a parser (a method of yargs missing from its type definitions). */
interface DeclaredOptions {
  key: Record<string, unknown>;
  hiddenOptions: string[];
}

/** The options a parser has declared so far, by the names they were declared with, hidden ones included. */
export function declaredOptions(parser: Argv | unknown): { names: string[]; hidden: string[] } {
  const { key, hiddenOptions } = (parser as { getOptions(): DeclaredOptions }).getOptions();
  return { names: Object.keys(key), hidden: hiddenOptions };
}
