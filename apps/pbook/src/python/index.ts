/**
 * The Python-literal subset pbook's shell reads: the one way in for code outside this folder.
 * How source text becomes a value (lexer → parser → evaluator) is mapped in README.md beside this file.
 */
export { bindArguments, evaluate } from './evaluate.js';
export { dumps } from './json-dumps.js';
export { parse } from './parser.js';
export { pythonError, repr } from './values.js';
export type { PyFunction, PyModule, PyParam, PyValue } from './values.js';
