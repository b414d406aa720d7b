import type { PyFunction, PyParam, PyValue } from '../python/index.js';

/** A shell function that returns None, with its parameters and help text. */
export function define(
  name: string,
  params: PyParam[],
  doc: string,
  call: (args: Map<string, PyValue>) => Promise<void>,
): PyFunction {
  return {
    type: 'function',
    name,
    params,
    doc,
    call: async (args) => {
      await call(args);
      return null;
    },
  };
}
