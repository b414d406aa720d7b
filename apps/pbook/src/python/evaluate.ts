import type { Expr } from './parser.js';
import { float, hashKey, int, pythonError, typeName } from './values.js';
import type { PyDict, PyFunction, PyParam, PyValue } from './values.js';

/** Where names are looked up: the shell's functions and the modules imported so far. */
export interface Scope {
  lookup(name: string): PyValue | undefined;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function quotedList(names: string[]): string {
  const quoted = names.map((name) => `'${name}'`);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')}${quoted.length > 2 ? ',' : ''} and ${quoted[quoted.length - 1]}`;
}

function matchesType(value: PyValue, param: PyParam): boolean {
  if (param.type === 'str') return typeof value === 'string';
  if (param.type === 'bool') return typeof value === 'boolean';
  return true;
}

/**
 * Binds a call's arguments to the function's parameters with Python's rules and messages, and
 * checks the declared types (str arguments must be str: the shell never converts silently).
 */
export function bindArguments(
  fn: PyFunction,
  args: PyValue[],
  keywords: Array<[string, PyValue]>,
): Map<string, PyValue> {
  const { params } = fn;
  const required = params.filter((param) => !('default' in param)).length;
  if (args.length > params.length) {
    const takes = required === params.length ? `${params.length}` : `from ${required} to ${params.length}`;
    const noun = params.length === 1 && required === 1 ? 'positional argument' : 'positional arguments';
    throw pythonError(
      'TypeError',
      `${fn.name}() takes ${takes} ${noun} but ${args.length} ${args.length === 1 ? 'was' : 'were'} given`,
    );
  }
  const bound = new Map<string, PyValue>();
  for (const [index, value] of args.entries()) bound.set((params[index] as PyParam).name, value);
  for (const [name, value] of keywords) {
    if (!params.some((param) => param.name === name)) {
      throw pythonError('TypeError', `${fn.name}() got an unexpected keyword argument '${name}'`);
    }
    if (bound.has(name)) throw pythonError('TypeError', `${fn.name}() got multiple values for argument '${name}'`);
    bound.set(name, value);
  }
  const missing = params.filter((param) => !bound.has(param.name) && !('default' in param)).map((param) => param.name);
  if (missing.length > 0) {
    throw pythonError(
      'TypeError',
      `${fn.name}() missing ${plural(missing.length, 'required positional argument')}: ${quotedList(missing)}`,
    );
  }
  for (const param of params) {
    const value = bound.get(param.name) ?? param.default ?? null;
    if (!matchesType(value, param)) {
      throw pythonError(
        'TypeError',
        `${fn.name}() argument '${param.name}' must be ${param.type}, not ${typeName(value)}`,
        'INVALID_TYPE',
      );
    }
    bound.set(param.name, value);
  }
  return bound;
}

function negate(value: PyValue): PyValue {
  if (typeof value === 'boolean') return int(value ? -1 : 0);
  if (value !== null && typeof value === 'object' && value.type === 'int') return int(-value.value);
  if (value !== null && typeof value === 'object' && value.type === 'float') return float(-value.value);
  throw pythonError('TypeError', `bad operand type for unary -: '${typeName(value)}'`);
}

function plus(value: PyValue): PyValue {
  if (typeof value === 'boolean') return int(value ? 1 : 0);
  if (value !== null && typeof value === 'object' && (value.type === 'int' || value.type === 'float')) return value;
  throw pythonError('TypeError', `bad operand type for unary +: '${typeName(value)}'`);
}

/** Evaluates an expression; calls run the shell's functions, which may do I/O. */
export async function evaluate(expr: Expr, scope: Scope): Promise<PyValue> {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'name': {
      const value = scope.lookup(expr.name);
      if (value === undefined) throw pythonError('NameError', `name '${expr.name}' is not defined`);
      return value;
    }
    case 'attribute': {
      const object = await evaluate(expr.object, scope);
      if (object !== null && typeof object === 'object' && object.type === 'module' && expr.name in object.members) {
        return object.members[expr.name] ?? null;
      }
      const owner =
        object !== null && typeof object === 'object' && object.type === 'module'
          ? `module '${object.name}'`
          : `'${typeName(object)}' object`;
      throw pythonError('AttributeError', `${owner} has no attribute '${expr.name}'`);
    }
    case 'call': {
      const callee = await evaluate(expr.callee, scope);
      if (callee === null || typeof callee !== 'object' || callee.type !== 'function') {
        throw pythonError('TypeError', `'${typeName(callee)}' object is not callable`);
      }
      const args: PyValue[] = [];
      for (const arg of expr.args) args.push(await evaluate(arg, scope));
      const keywords: Array<[string, PyValue]> = [];
      for (const keyword of expr.keywords) keywords.push([keyword.name, await evaluate(keyword.value, scope)]);
      return callee.call(bindArguments(callee, args, keywords));
    }
    case 'list':
    case 'tuple': {
      const items: PyValue[] = [];
      for (const item of expr.items) items.push(await evaluate(item, scope));
      return { type: expr.kind, items };
    }
    case 'dict': {
      const dict: PyDict = { type: 'dict', entries: new Map() };
      for (const [keyExpr, valueExpr] of expr.entries) {
        const key = await evaluate(keyExpr, scope);
        const value = await evaluate(valueExpr, scope);
        const hash = hashKey(key);
        // Python keeps the first key object and the last value.
        dict.entries.set(hash, [dict.entries.get(hash)?.[0] ?? key, value]);
      }
      return dict;
    }
    case 'unary': {
      const operand = await evaluate(expr.operand, scope);
      return expr.operator === '-' ? negate(operand) : plus(operand);
    }
  }
}
