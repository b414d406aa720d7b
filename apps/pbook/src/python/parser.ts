import { tokenize } from './lexer.js';
import type { Token } from './lexer.js';
import { pythonError } from './values.js';
import type { PyValue } from './values.js';

export type Expr =
  | { kind: 'literal'; value: PyValue }
  | { kind: 'name'; name: string }
  | { kind: 'attribute'; object: Expr; name: string }
  | { kind: 'call'; callee: Expr; args: Expr[]; keywords: Array<{ name: string; value: Expr }> }
  | { kind: 'list' | 'tuple'; items: Expr[] }
  | { kind: 'dict'; entries: Array<[Expr, Expr]> }
  | { kind: 'unary'; operator: '+' | '-'; operand: Expr };

export type Statement = { kind: 'import'; modules: string[] } | { kind: 'expression'; expression: Expr };

const CONSTANTS: Record<string, PyValue> = { True: true, False: false, None: null };

/** Python keywords other than the constants: never names, so `import` and friends read clearly. */
const KEYWORDS = new Set([
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield',
]);

function describe(token: Token): string {
  switch (token.kind) {
    case 'name':
    case 'op':
      return `'${token.text}'`;
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    // No article: the description follows both "unexpected" and "found".
    case 'newline':
      return 'end of line';
    case 'end':
      return 'end of input';
  }
}

/**
 * Parses shell code: statements separated by `;` or newlines, each `import NAME[, NAME]` or an
 * expression made of calls, attribute access, names and literals (str, int, float, True, False,
 * None, list, tuple, dict), with keyword arguments.
 *
 * @example
 * parse("set_secret('K', 'V', is_file=False)")
 */
export function parse(source: string): Statement[] {
  const tokens = tokenize(source);
  const multiline = source.includes('\n');
  let position = 0;

  const peek = (): Token => tokens[position] ?? (tokens[tokens.length - 1] as Token);
  const next = (): Token => {
    const token = peek();
    position += 1;
    return token;
  };
  const isOp = (text: string, token = peek()): boolean => token.kind === 'op' && token.text === text;
  const fail = (message: string, token = peek()): never => {
    const where = multiline ? `line ${token.line}, column ${token.column}` : `column ${token.column}`;
    throw pythonError('SyntaxError', `${message} (${where})`);
  };
  const expectOp = (text: string): void => {
    if (!isOp(text)) fail(`expected '${text}' but found ${describe(peek())}`);
    next();
  };

  /** Comma-separated items up to `closing`, a trailing comma allowed; returns whether a comma was seen. */
  const sequence = (closing: string, item: () => void): boolean => {
    let sawComma = false;
    while (!isOp(closing)) {
      item();
      if (isOp(closing)) break;
      expectOp(',');
      sawComma = true;
    }
    next();
    return sawComma;
  };

  const atom = (): Expr => {
    const token = next();
    switch (token.kind) {
      case 'number':
        return { kind: 'literal', value: token.value };
      case 'string': {
        // Adjacent string literals concatenate, as in Python.
        let value = token.value;
        while (peek().kind === 'string') value += (next() as { value: string }).value;
        return { kind: 'literal', value };
      }
      case 'name':
        if (token.text in CONSTANTS) return { kind: 'literal', value: CONSTANTS[token.text] ?? null };
        if (KEYWORDS.has(token.text)) return fail(`'${token.text}' is not supported here`, token);
        return { kind: 'name', name: token.text };
      case 'op':
        if (token.text === '(') {
          if (isOp(')')) {
            next();
            return { kind: 'tuple', items: [] };
          }
          const first = expression();
          if (isOp(')')) {
            next();
            return first;
          }
          const items = [first];
          expectOp(',');
          sequence(')', () => items.push(expression()));
          return { kind: 'tuple', items };
        }
        if (token.text === '[') {
          const items: Expr[] = [];
          sequence(']', () => items.push(expression()));
          return { kind: 'list', items };
        }
        if (token.text === '{') {
          const entries: Array<[Expr, Expr]> = [];
          sequence('}', () => {
            const key = expression();
            if (!isOp(':')) fail('sets are not supported; a dict needs key: value pairs');
            next();
            entries.push([key, expression()]);
          });
          return { kind: 'dict', entries };
        }
        return fail(`unexpected ${describe(token)}`, token);
      default:
        return fail(`unexpected ${describe(token)}`, token);
    }
  };

  const callArguments = (callee: Expr): Expr => {
    const args: Expr[] = [];
    const keywords: Array<{ name: string; value: Expr }> = [];
    sequence(')', () => {
      const token = peek();
      const following = tokens[position + 1];
      if (token.kind === 'name' && following !== undefined && isOp('=', following)) {
        position += 2;
        if (keywords.some((keyword) => keyword.name === token.text))
          fail(`keyword argument repeated: ${token.text}`, token);
        keywords.push({ name: token.text, value: expression() });
      } else {
        if (keywords.length > 0) fail('positional argument follows keyword argument', token);
        args.push(expression());
      }
    });
    return { kind: 'call', callee, args, keywords };
  };

  const postfix = (): Expr => {
    let expr = atom();
    for (;;) {
      if (isOp('(')) {
        next();
        expr = callArguments(expr);
      } else if (isOp('.')) {
        next();
        const name = next();
        if (name.kind !== 'name') return fail(`expected a name after '.' but found ${describe(name)}`, name);
        expr = { kind: 'attribute', object: expr, name: name.text };
      } else if (isOp('[')) {
        return fail('subscripts are not supported');
      } else {
        return expr;
      }
    }
  };

  function expression(): Expr {
    const token = peek();
    if (token.kind === 'op' && (token.text === '-' || token.text === '+')) {
      next();
      return { kind: 'unary', operator: token.text, operand: expression() };
    }
    return postfix();
  }

  const statement = (): Statement => {
    const token = peek();
    if (token.kind === 'name' && token.text === 'import') {
      next();
      const modules: string[] = [];
      do {
        const name = next();
        if (name.kind !== 'name' || KEYWORDS.has(name.text)) return fail('expected a module name after import', name);
        let dotted = name.text;
        while (isOp('.')) {
          next();
          const part = next();
          if (part.kind !== 'name') return fail('expected a module name', part);
          dotted += `.${part.text}`;
        }
        modules.push(dotted);
      } while (isOp(',') && next());
      return { kind: 'import', modules };
    }
    return { kind: 'expression', expression: expression() };
  };

  const statements: Statement[] = [];
  for (;;) {
    while (peek().kind === 'newline' || isOp(';')) next();
    if (peek().kind === 'end') return statements;
    statements.push(statement());
    const after = peek();
    if (after.kind !== 'end' && after.kind !== 'newline' && !isOp(';', after)) {
      fail(`invalid syntax: unexpected ${describe(after)}`, after);
    }
  }
}
