import { describe, expect, it } from '@jest/globals';
import { pandaErrorOf } from '@panda-secrets/testkit/unit';
import { bindArguments, evaluate } from './evaluate.js';
import { dumps } from './json-dumps.js';
import { parse } from './parser.js';
import { floatRepr, repr } from './values.js';
import type { PyFunction, PyValue } from './values.js';

const noNames = { lookup: () => undefined };

async function value(source: string): Promise<PyValue> {
  const [statement] = parse(source);
  if (statement?.kind !== 'expression') throw new Error('not an expression');
  return evaluate(statement.expression, noNames);
}

// Expected texts come from CPython 3: json.dumps(eval(source)) and repr(eval(source)).
describe('literals, json.dumps and repr as in Python', () => {
  it.each([
    ["{'a_key': 'a_value'}", '{"a_key": "a_value"}', "{'a_key': 'a_value'}"],
    [
      "{'a': 1, 'b': [1, 2.5, True, False, None], 'c': {'d': ()}}",
      '{"a": 1, "b": [1, 2.5, true, false, null], "c": {"d": []}}',
      "{'a': 1, 'b': [1, 2.5, True, False, None], 'c': {'d': ()}}",
    ],
    ["'caf\\xe9 \\u2603 \\U0001F600'", '"caf\\u00e9 \\u2603 \\ud83d\\ude00"', "'café ☃ 😀'"],
    [
      "'tab\\tnl\\ncr\\rbs\\\\q\"\\x00\\x1f\\x7f\\b\\f'",
      '"tab\\tnl\\ncr\\rbs\\\\q\\"\\u0000\\u001f\\u007f\\b\\f"',
      "'tab\\tnl\\ncr\\rbs\\\\q\"\\x00\\x1f\\x7f\\x08\\x0c'",
    ],
    [
      '[1e16, 1e15, 1234567890123456.0, 0.0001, 0.00001, 1.5e-7, -0.0, 0.1, 1.0, 100.0, 2.5e300, 1e400, -1e400]',
      '[1e+16, 1000000000000000.0, 1234567890123456.0, 0.0001, 1e-05, 1.5e-07, -0.0, 0.1, 1.0, 100.0, 2.5e+300, Infinity, -Infinity]',
      '[1e+16, 1000000000000000.0, 1234567890123456.0, 0.0001, 1e-05, 1.5e-07, -0.0, 0.1, 1.0, 100.0, 2.5e+300, inf, -inf]',
    ],
    [
      "{1: 'a', True: 'b', 1.0: 'c', None: 'n', 2.5: 'f', False: 'x', 3: 't'}",
      '{"1": "c", "null": "n", "2.5": "f", "false": "x", "3": "t"}',
      "{1: 'c', None: 'n', 2.5: 'f', False: 'x', 3: 't'}",
    ],
    [
      '[0x1F, 0o17, 0b101, 1_000_000, 123456789012345678901234567890, -5, +5, -True]',
      '[31, 15, 5, 1000000, 123456789012345678901234567890, -5, 5, -1]',
      '[31, 15, 5, 1000000, 123456789012345678901234567890, -5, 5, -1]',
    ],
    ["r'C:\\new\\x'", '"C:\\\\new\\\\x"', "'C:\\\\new\\\\x'"],
    ["'a' \"b\" r'\\c'", '"ab\\\\c"', "'ab\\\\c'"],
    ["'\\101\\0\\777'", '"A\\u0000\\u01ff"', "'A\\x00ǿ'"],
    ["'\\q\\d'", '"\\\\q\\\\d"', "'\\\\q\\\\d'"],
    ["'''tri'ple'''", '"tri\'ple"', '"tri\'ple"'],
    ['(1,)', '[1]', '(1,)'],
    ['([1, 2], (), "x",)', '[[1, 2], [], "x"]', "([1, 2], (), 'x')"],
    ['007.5', '7.5', '7.5'],
    ['{}', '{}', '{}'],
  ])('%s', async (source, json, python) => {
    const result = await value(source);
    expect(dumps(result)).toBe(json);
    expect(repr(result)).toBe(python);
  });

  it('keeps non-ASCII characters with ensure_ascii=False', async () => {
    expect(dumps(await value("{'k': 'café\\n😀'}"), false)).toBe('{"k": "café\\n😀"}');
  });

  it('formats floats like float.__repr__', () => {
    expect([0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, 123.456, 1e-4, 9.999e15].map(floatRepr)).toEqual([
      '0.30000000000000004',
      '0.3333333333333333',
      '5e-324',
      '1.7976931348623157e+308',
      '123.456',
      '0.0001',
      '9999000000000000.0',
    ]);
  });

  it('refuses keys json cannot encode and values that are not data', async () => {
    await expect(value('{(1, 2): 1}').then(dumps)).rejects.toThrow(
      'TypeError: keys must be str, int, float, bool or None, not tuple',
    );
    await expect(value('{[1]: 1}')).rejects.toThrow("TypeError: unhashable type: 'list'");
  });
});

describe('parse', () => {
  it('reads calls with positional and keyword arguments, names, attributes and imports', () => {
    expect(parse("import json; set_secret('K', json.dumps({'a': 1}), is_file=False,)")).toEqual([
      { kind: 'import', modules: ['json'] },
      {
        kind: 'expression',
        expression: {
          kind: 'call',
          callee: { kind: 'name', name: 'set_secret' },
          args: [
            { kind: 'literal', value: 'K' },
            {
              kind: 'call',
              callee: { kind: 'attribute', object: { kind: 'name', name: 'json' }, name: 'dumps' },
              args: [
                {
                  kind: 'dict',
                  entries: [
                    [
                      { kind: 'literal', value: 'a' },
                      { kind: 'literal', value: { type: 'int', value: 1n } },
                    ],
                  ],
                },
              ],
              keywords: [],
            },
          ],
          keywords: [{ name: 'is_file', value: { kind: 'literal', value: false } }],
        },
      },
    ]);
  });

  it('ignores comments and empty statements, and joins lines inside brackets', () => {
    expect(parse('# set_secret(key, value)')).toEqual([]);
    expect(parse('  ;; ')).toEqual([]);
    expect(parse('f(1, # one\n  2)\ng() # done')).toHaveLength(2);
  });

  it.each([
    ["set_secret('K', 'V'", "SyntaxError: expected ',' but found end of input (column 20)"],
    ['list_secrets(', 'SyntaxError: unexpected end of input (column 14)'],
    ['json.\nf()', "SyntaxError: expected a name after '.' but found end of line (line 1, column 6)"],
    ["set_secret('K)", 'SyntaxError: unterminated string literal (column 12)'],
    ['x = 1', "SyntaxError: invalid syntax: unexpected '=' (column 3)"],
    ['f(a=1, 2)', 'SyntaxError: positional argument follows keyword argument (column 8)'],
    ['f(a=1, a=2)', 'SyntaxError: keyword argument repeated: a (column 8)'],
    [
      '007',
      'SyntaxError: leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers (column 1)',
    ],
    ['1j', 'SyntaxError: complex numbers are not supported (column 1)'],
    ["b'x'", 'SyntaxError: bytes literals are not supported (column 1)'],
    ["f'{x}'", 'SyntaxError: f-strings are not supported (column 1)'],
    ["'\\x4'", 'SyntaxError: truncated \\x escape (column 2)'],
    ["'\\U00110000'", 'SyntaxError: illegal Unicode character in \\U escape (column 2)'],
    ['{1, 2}', 'SyntaxError: sets are not supported; a dict needs key: value pairs (column 3)'],
    ['a[0]', 'SyntaxError: subscripts are not supported (column 2)'],
    ['import', 'SyntaxError: expected a module name after import (column 7)'],
    ['from json import dumps', "SyntaxError: 'from' is not supported here (column 1)"],
    ['x $', 'SyntaxError: invalid character "$" (column 3)'],
    ["f()\ng('", 'SyntaxError: unterminated string literal (line 2, column 3)'],
  ])('rejects %j', async (source, message) => {
    const error = await pandaErrorOf(() => parse(source));
    expect(error.message).toBe(message);
    expect(error.code).toBe('USAGE');
  });
});

describe('calls', () => {
  const calls: Array<Map<string, PyValue>> = [];
  const setSecret: PyFunction = {
    type: 'function',
    name: 'set_secret',
    params: [
      { name: 'key', type: 'str' },
      { name: 'value', type: 'str' },
      { name: 'is_file', type: 'bool', default: false },
    ],
    doc: '',
    call: async (args) => {
      calls.push(args);
      return null;
    },
  };
  const scope = { lookup: (name: string) => (name === 'set_secret' ? setSecret : undefined) };

  async function run(source: string): Promise<PyValue> {
    const [statement] = parse(source);
    if (statement?.kind !== 'expression') throw new Error('not an expression');
    return evaluate(statement.expression, scope);
  }

  it('binds positional and keyword arguments and fills defaults', async () => {
    calls.length = 0;
    await run("set_secret('K', 'V')");
    await run("set_secret(value='V', key='K', is_file=True)");
    expect(calls).toEqual([
      new Map<string, PyValue>([
        ['key', 'K'],
        ['value', 'V'],
        ['is_file', false],
      ]),
      new Map<string, PyValue>([
        ['value', 'V'],
        ['key', 'K'],
        ['is_file', true],
      ]),
    ]);
  });

  it.each([
    ["set_secret('K')", "TypeError: set_secret() missing 1 required positional argument: 'value'", 'USAGE'],
    ['set_secret()', "TypeError: set_secret() missing 2 required positional arguments: 'key' and 'value'", 'USAGE'],
    [
      "set_secret('K', 'V', True, 1)",
      'TypeError: set_secret() takes from 2 to 3 positional arguments but 4 were given',
      'USAGE',
    ],
    ["set_secret('K', 'V', full=True)", "TypeError: set_secret() got an unexpected keyword argument 'full'", 'USAGE'],
    ["set_secret('K', 'V', key='K')", "TypeError: set_secret() got multiple values for argument 'key'", 'USAGE'],
    ["set_secret('K', 1)", "TypeError: set_secret() argument 'value' must be str, not int", 'INVALID_TYPE'],
    [
      "set_secret('K', 'V', is_file='yes')",
      "TypeError: set_secret() argument 'is_file' must be bool, not str",
      'INVALID_TYPE',
    ],
    ['unknown()', "NameError: name 'unknown' is not defined", 'USAGE'],
    ["'x'()", "TypeError: 'str' object is not callable", 'USAGE'],
    ["'x'.upper", "AttributeError: 'str' object has no attribute 'upper'", 'USAGE'],
    ["-'x'", "TypeError: bad operand type for unary -: 'str'", 'USAGE'],
  ])('reports %s like Python', async (source, message, code) => {
    const error = await pandaErrorOf(run(source));
    expect([error.message, error.code]).toEqual([message, code]);
  });

  it('words arity messages for functions of one or no parameters', async () => {
    const one: PyFunction = { ...setSecret, name: 'delete_secret', params: [{ name: 'key', type: 'str' }] };
    const none: PyFunction = { ...setSecret, name: 'delete_all_secrets', params: [] };
    expect((await pandaErrorOf(() => bindArguments(one, ['a', 'b'], []))).message).toBe(
      'TypeError: delete_secret() takes 1 positional argument but 2 were given',
    );
    expect((await pandaErrorOf(() => bindArguments(none, ['a'], []))).message).toBe(
      'TypeError: delete_all_secrets() takes 0 positional arguments but 1 was given',
    );
  });
});
