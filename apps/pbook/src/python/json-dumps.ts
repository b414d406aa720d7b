import { floatRepr, pythonError, typeName } from './values.js';
import type { PyValue } from './values.js';

const SHORT_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '"': '\\"',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

// Python's json.encoder ESCAPE_ASCII and ESCAPE patterns: with ensure_ascii everything outside
// printable ASCII is escaped, UTF-16 unit by unit (so astral characters become surrogate pairs).
const ESCAPE_ASCII = /[\\"]|[^ -~]/g;
const ESCAPE = /[\x00-\x1f\\"]/g;

function encodeString(value: string, ensureAscii: boolean): string {
  const escaped = value.replace(
    ensureAscii ? ESCAPE_ASCII : ESCAPE,
    (char) => SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `"${escaped}"`;
}

function encodeFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return floatRepr(value);
}

/** A dict key as JSON text: str as is, the other scalars converted as Python's encoder does. */
function encodeKey(key: PyValue, ensureAscii: boolean): string {
  if (typeof key === 'string') return encodeString(key, ensureAscii);
  if (key === null) return '"null"';
  if (typeof key === 'boolean') return key ? '"true"' : '"false"';
  if (key.type === 'int') return `"${key.value.toString()}"`;
  if (key.type === 'float') return `"${encodeFloat(key.value)}"`;
  throw pythonError('TypeError', `keys must be str, int, float, bool or None, not ${typeName(key)}`);
}

/**
 * Python's `json.dumps(obj)` with its defaults: separators `', '` and `': '`, `ensure_ascii=True`
 * (non-ASCII as `\uXXXX`), NaN and Infinity allowed, keys in insertion order.
 *
 * @example
 * dumps(dict) // '{"a_key": "a_value"}' for {'a_key': 'a_value'}
 */
export function dumps(value: PyValue, ensureAscii = true): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return encodeString(value, ensureAscii);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  switch (value.type) {
    case 'int':
      return value.value.toString();
    case 'float':
      return encodeFloat(value.value);
    case 'list':
    case 'tuple':
      return `[${value.items.map((item) => dumps(item, ensureAscii)).join(', ')}]`;
    case 'dict':
      return `{${[...value.entries.values()]
        .map(([key, item]) => `${encodeKey(key, ensureAscii)}: ${dumps(item, ensureAscii)}`)
        .join(', ')}}`;
    case 'function':
    case 'module':
      throw pythonError('TypeError', `Object of type ${value.type} is not JSON serializable`);
  }
}
