import { PandaError } from '@panda-secrets/protocol';

/** A Python int: arbitrary precision, like Python's. */
export interface PyInt {
  type: 'int';
  value: bigint;
}

export interface PyFloat {
  type: 'float';
  value: number;
}

interface PyList {
  type: 'list';
  items: PyValue[];
}

interface PyTuple {
  type: 'tuple';
  items: PyValue[];
}

/** A dict keeps insertion order; entries are keyed by `hashKey` so `1`, `1.0` and `True` collide as in Python. */
export interface PyDict {
  type: 'dict';
  entries: Map<string, [PyValue, PyValue]>;
}

/** One parameter of a shell function. `type` is checked when the function is called. */
export interface PyParam {
  name: string;
  type: 'str' | 'bool' | 'any';
  default?: PyValue;
}

export interface PyFunction {
  type: 'function';
  name: string;
  params: PyParam[];
  /** The text `help(function)` shows. */
  doc: string;
  call(args: Map<string, PyValue>): Promise<PyValue>;
}

export interface PyModule {
  type: 'module';
  name: string;
  members: Record<string, PyValue>;
}

/** The values the shell knows: str, bool and None are JS string, boolean and null. */
export type PyValue = string | boolean | null | PyInt | PyFloat | PyList | PyTuple | PyDict | PyFunction | PyModule;

/** A Python-style error raised while running shell code; `code` decides the exit code in batch use. */
export function pythonError(
  kind: string,
  message: string,
  code: 'USAGE' | 'INVALID_TYPE' | 'INVALID_INPUT' = 'USAGE',
): PandaError {
  return new PandaError(code, `${kind}: ${message}`);
}

export function int(value: bigint | number): PyInt {
  return { type: 'int', value: BigInt(value) };
}

export function float(value: number): PyFloat {
  return { type: 'float', value };
}

/** Python's name for the type of a value, as error messages use it. */
export function typeName(value: PyValue): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  return value.type;
}

/** Python's `float.__repr__`: the shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function floatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const [mantissa = '', exponentText = ''] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent >= 16 || exponent < -4) {
    const shortMantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const exponentDigits = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${shortMantissa}e${exponent < 0 ? '-' : '+'}${exponentDigits}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
}

/** Numeric value of an int, float or bool, for the equality Python's dict keys use. */
function numericKey(value: PyInt | PyFloat | boolean): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value.type === 'int') return value.value.toString();
  return Number.isInteger(value.value) ? BigInt(value.value).toString() : floatRepr(value.value);
}

/** The identity of a dict key; unhashable keys (list, dict) raise TypeError as in Python. */
export function hashKey(value: PyValue): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return `s${value}`;
  if (typeof value === 'boolean') return `n${numericKey(value)}`;
  switch (value.type) {
    case 'int':
    case 'float':
      return `n${numericKey(value)}`;
    case 'tuple':
      return `t(${value.items.map(hashKey).join(',')})`;
    case 'function':
    case 'module':
      return `${value.type}:${value.name}`;
    case 'list':
    case 'dict':
      throw pythonError('TypeError', `unhashable type: '${value.type}'`);
  }
}

const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's `repr(str)`: single quotes unless only double quotes avoid escaping. */
function stringRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char !== ' ' && NOT_PRINTABLE.test(char)) {
      if (code < 0x100) out += `\\x${code.toString(16).padStart(2, '0')}`;
      else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += `\\U${code.toString(16).padStart(8, '0')}`;
    } else out += char;
  }
  return out + quote;
}

/** Python's `repr()` of a value, as the interactive shell echoes an expression's result. */
export function repr(value: PyValue): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return stringRepr(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  switch (value.type) {
    case 'int':
      return value.value.toString();
    case 'float':
      return floatRepr(value.value);
    case 'list':
      return `[${value.items.map(repr).join(', ')}]`;
    case 'tuple':
      return value.items.length === 1 ? `(${repr(value.items[0] ?? null)},)` : `(${value.items.map(repr).join(', ')})`;
    case 'dict':
      return `{${[...value.entries.values()].map(([key, item]) => `${repr(key)}: ${repr(item)}`).join(', ')}}`;
    case 'function':
      return `<function ${value.name}>`;
    case 'module':
      return `<module '${value.name}'>`;
  }
}
