import { pythonError } from './values.js';
import type { PyFloat, PyInt } from './values.js';

export type Token =
  | { kind: 'name'; text: string; line: number; column: number }
  | { kind: 'number'; value: PyInt | PyFloat; line: number; column: number }
  | { kind: 'string'; value: string; line: number; column: number }
  | { kind: 'op'; text: string; line: number; column: number }
  | { kind: 'newline' | 'end'; line: number; column: number };

const OPERATORS = new Set(['(', ')', '[', ']', '{', '}', ',', ':', '=', '.', ';', '+', '-']);
const OPENING = new Set(['(', '[', '{']);
const CLOSING = new Set([')', ']', '}']);

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

const HEX_ESCAPE_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };

// Python's literal grammar; digit groups may be separated by single underscores.
const DIGITS = '[0-9](?:_?[0-9])*';
const EXPONENT = `[eE][+-]?${DIGITS}`;
const FLOAT_PATTERN = new RegExp(
  `^(?:(?:${DIGITS})?\\.${DIGITS}(?:${EXPONENT})?|${DIGITS}\\.(?:${EXPONENT})?|${DIGITS}${EXPONENT})`,
);
const INT_PATTERN = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?[0-9])*|0(?:_?0)*)/;
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*/;
const STRING_PREFIX = /^([rRuUbBfF]{0,2})(['"])/;

/** Where a syntax error is: the column, and the line once the code has more than one. */
function position(line: number, column: number, multiline: boolean): string {
  return multiline ? `line ${line}, column ${column}` : `column ${column}`;
}

/**
 * Splits one piece of shell code into tokens. Comments are dropped; newlines outside brackets
 * separate statements like `;`; string tokens carry their decoded value.
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const multiline = source.includes('\n');
  let index = 0;
  let line = 1;
  let lineStart = 0;
  let depth = 0;

  const fail = (message: string, at = index): never => {
    throw pythonError('SyntaxError', `${message} (${position(line, at - lineStart + 1, multiline)})`);
  };

  const readString = (raw: boolean, quote: string, triple: boolean, start: number): string => {
    const closing = triple ? quote.repeat(3) : quote;
    let value = '';
    while (index < source.length) {
      if (source.startsWith(closing, index)) {
        index += closing.length;
        return value;
      }
      const char = source[index] ?? '';
      if (char === '\n') {
        if (!triple) fail('unterminated string literal', start);
        line += 1;
        lineStart = index + 1;
      }
      if (char !== '\\') {
        value += char;
        index += 1;
        continue;
      }
      const next = source[index + 1];
      if (next === undefined) break;
      if (raw) {
        // A raw string keeps the backslash; it only stops the next character from ending the string.
        value += char + next;
        index += 2;
        continue;
      }
      index += 2;
      if (next === '\n') continue;
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        value += simple;
        continue;
      }
      const hexLength = HEX_ESCAPE_LENGTH[next];
      if (hexLength !== undefined) {
        const hex = source.slice(index, index + hexLength);
        if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) fail(`truncated \\${next} escape`, index - 2);
        const codePoint = Number.parseInt(hex, 16);
        if (codePoint > 0x10ffff) fail(`illegal Unicode character in \\${next} escape`, index - 2);
        value += String.fromCodePoint(codePoint);
        index += hexLength;
        continue;
      }
      const octal = /^[0-7]{1,3}/.exec(source.slice(index - 1, index + 2));
      if (octal) {
        value += String.fromCodePoint(Number.parseInt(octal[0], 8));
        index += octal[0].length - 1;
        continue;
      }
      if (next === 'N') fail('\\N{...} escapes are not supported', index - 2);
      // Python keeps an unknown escape as it is written.
      value += `\\${next}`;
    }
    return fail('unterminated string literal', start);
  };

  while (index < source.length) {
    const char = source[index] ?? '';
    const column = index - lineStart + 1;
    const rest = source.slice(index);
    if (char === ' ' || char === '\t' || char === '\f' || char === '\r') {
      index += 1;
    } else if (char === '#') {
      while (index < source.length && source[index] !== '\n') index += 1;
    } else if (char === '\\' && source[index + 1] === '\n') {
      index += 2;
      line += 1;
      lineStart = index;
    } else if (char === '\n') {
      if (depth === 0) tokens.push({ kind: 'newline', line, column });
      index += 1;
      line += 1;
      lineStart = index;
    } else if (STRING_PREFIX.test(rest)) {
      const [, prefix = '', quote = "'"] = STRING_PREFIX.exec(rest) ?? [];
      if (/[bB]/.test(prefix)) fail('bytes literals are not supported');
      if (/[fF]/.test(prefix)) fail('f-strings are not supported');
      if (/^(?:[uU][rR]|[rR][uU]|[uU]{2}|[rR]{2})$/.test(prefix)) fail('invalid string prefix');
      const start = index;
      index += prefix.length;
      const triple = source.startsWith(quote.repeat(3), index);
      index += triple ? 3 : 1;
      const value = readString(/[rR]/.test(prefix), quote, triple, start);
      tokens.push({ kind: 'string', value, line, column });
    } else if (NAME_PATTERN.test(rest)) {
      const text = NAME_PATTERN.exec(rest)?.[0] ?? '';
      tokens.push({ kind: 'name', text, line, column });
      index += text.length;
    } else if (/^\.?[0-9]/.test(rest)) {
      const floatText = FLOAT_PATTERN.exec(rest)?.[0];
      const intText = INT_PATTERN.exec(rest)?.[0];
      const text = floatText ?? intText ?? '';
      const after = source[index + text.length] ?? '';
      if (/[jJ]/.test(after)) fail('complex numbers are not supported');
      if (text === '' || /[A-Za-z0-9_.]/.test(after)) {
        fail(
          /^0[0-9]/.test(rest)
            ? 'leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers'
            : 'invalid number',
        );
      }
      const digits = text.replace(/_/g, '');
      tokens.push({
        kind: 'number',
        value:
          floatText === undefined ? { type: 'int', value: BigInt(digits) } : { type: 'float', value: Number(digits) },
        line,
        column,
      });
      index += text.length;
    } else if (OPERATORS.has(char)) {
      if (OPENING.has(char)) depth += 1;
      if (CLOSING.has(char)) depth = Math.max(0, depth - 1);
      tokens.push({ kind: 'op', text: char, line, column });
      index += 1;
    } else {
      fail(`invalid character ${JSON.stringify(char)}`);
    }
  }
  tokens.push({ kind: 'end', line, column: index - lineStart + 1 });
  return tokens;
}
