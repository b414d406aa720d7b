import { Kind, type Static, type TSchema } from '@sinclair/typebox';
import { Check } from '@sinclair/typebox/value';
import { type ErrorCode, PandaError } from '../errors.js';
import { quoteName } from '../names.js';

/**
 * How a value that breaks a part of a schema is refused, kept in that part's options. In
 * `message`, `{field}` stands for the field's name (`jobs[0].exec`) and `{name}` for the quoted
 * name of the record entry it is the value of.
 */
interface Refusal {
  code: ErrorCode;
  message: string;
}

interface Refusals {
  /** For any problem with this part: another type, a limit, or absent where required. */
  refusal?: Refusal;
  /** For a value of the right type beyond this part's limits (length, range, count, pattern); before `refusal`. */
  limitRefusal?: Refusal;
}

/**
 * Schema options: refuse any problem with this part with `code` and `message` (see
 * {@link schemaProblem}).
 *
 * @example
 * Type.Record(Type.String(), Type.Unknown(), refusal('INVALID_INPUT', "'publicKey' must be a JWK object"))
 */
export function refusal(code: ErrorCode, message: string): Refusals {
  return { refusal: { code, message } };
}

/**
 * Schema options: refuse a value of the right type beyond this part's limits with `code` and
 * `message`; another type is refused in PanDA's words.
 *
 * @example
 * Type.String({ maxLength: 10, ...limitRefusal('TOO_LARGE', 'at most 10 characters') })
 */
export function limitRefusal(code: ErrorCode, message: string): Refusals {
  return { limitRefusal: { code, message } };
}

/** The name Python gives the type of a JSON value, for PanDA-compatible type errors. */
export function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

/** PanDA's wording: `Type error: 'value' must be of type str, got int.` */
function typeErrorMessage(field: string, expected: string, value: unknown): string {
  return `Type error: '${field}' must be of type ${expected}, got ${pythonTypeName(value)}.`;
}

type Path = ReadonlyArray<string | number>;

interface Problem {
  /** `type`: another JSON type; `limit`: the right type beyond the part's limits; `missing`: a required field is absent. */
  kind: 'type' | 'limit' | 'missing';
  /** The part of the schema the value breaks. */
  schema: TSchema & Refusals;
  /** For `missing`: the object the field is missing from. */
  parent?: TSchema & Refusals;
  value: unknown;
  path: Path;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The literal values of a schema that is a choice between them (an enum), else undefined. */
function enumValues(schema: TSchema): unknown[] | undefined {
  const members = schema[Kind] === 'Union' ? (schema.anyOf as TSchema[]) : undefined;
  return members?.every((member) => member[Kind] === 'Literal') ? members.map((member) => member.const) : undefined;
}

/** The name Python gives the type a schema expects: `str`, `int`, `list[str]`, `dict`. */
function pythonTypeOf(schema: TSchema): string {
  switch (schema[Kind]) {
    case 'String':
      return 'str';
    case 'Integer':
      return 'int';
    case 'Number':
      return 'float';
    case 'Boolean':
      return 'bool';
    case 'Null':
      return 'NoneType';
    case 'Array':
      return `list[${pythonTypeOf(schema.items as TSchema)}]`;
    case 'Literal':
      return pythonTypeName(schema.const);
    case 'Union': {
      // A nullable field is named by what it holds when set, as PanDA names it.
      const names = (schema.anyOf as TSchema[]).filter((member) => member[Kind] !== 'Null').map(pythonTypeOf);
      return [...new Set(names)].join(' or ');
    }
    case 'Object':
    case 'Record':
      return 'dict';
    default:
      return 'object';
  }
}

/** True when `value` is of the JSON type `schema` expects, so a failed check means a broken limit. */
function hasExpectedType(schema: TSchema, value: unknown): boolean {
  const expected = pythonTypeOf(schema);
  const actual = pythonTypeName(value);
  return expected === actual || (expected === 'float' && actual === 'int');
}

/** Parts that hold fields of their own, each reported by its name. */
function holdsFields(schema: TSchema): boolean {
  return ['Object', 'Record'].includes(schema[Kind] as string);
}

/**
 * The first part of `value` that breaks `schema`, field by field in the schema's order, as the
 * server has always checked a body: the first field that is wrong is the one reported.
 */
function firstProblem(schema: TSchema, value: unknown, path: Path): Problem | undefined {
  if (Check(schema, value)) return undefined;
  const inner = problemWithin(schema, value, path);
  if (inner !== undefined) return inner;
  return { kind: hasExpectedType(schema, value) ? 'limit' : 'type', schema, value, path };
}

function problemWithin(schema: TSchema, value: unknown, path: Path): Problem | undefined {
  switch (schema[Kind]) {
    case 'Object': {
      if (!isRecord(value)) return undefined;
      const required = new Set<string>(schema.required ?? []);
      for (const [name, field] of Object.entries(schema.properties as Record<string, TSchema>)) {
        const fieldValue = Object.hasOwn(value, name) ? value[name] : undefined;
        if (fieldValue === undefined) {
          if (required.has(name))
            return { kind: 'missing', schema: field, parent: schema, value: undefined, path: [...path, name] };
          continue;
        }
        const problem = firstProblem(field, fieldValue, [...path, name]);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    case 'Record': {
      if (!isRecord(value)) return undefined;
      const [entrySchema] = Object.values(schema.patternProperties as Record<string, TSchema>);
      for (const [name, entry] of Object.entries(value)) {
        const problem = entrySchema === undefined ? undefined : firstProblem(entrySchema, entry, [...path, name]);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    case 'Array': {
      if (!Array.isArray(value)) return undefined;
      if (value.length < (schema.minItems ?? 0) || value.length > (schema.maxItems ?? Number.POSITIVE_INFINITY)) {
        return { kind: 'limit', schema, value, path };
      }
      const items = schema.items as TSchema;
      const index = value.findIndex((item) => !Check(items, item));
      if (index === -1) return undefined;
      // A list of plain values is one field in PanDA's words ('secrets' must be of type list[str]).
      return holdsFields(items)
        ? firstProblem(items, value[index], [...path, index])
        : { kind: 'type', schema, value, path };
    }
    case 'Union': {
      // A nullable field that is set is checked as what it holds, so its limits are told apart from its type.
      const [held, ...others] = (schema.anyOf as TSchema[]).filter((member) => member[Kind] !== 'Null');
      return value !== null && held !== undefined && others.length === 0 ? firstProblem(held, value, path) : undefined;
    }
    default:
      return undefined;
  }
}

/** `jobs[0].exec` for the path `jobs`, 0, `exec` below `root`. */
function fieldName(root: string, path: Path): string {
  const name = path.reduce<string>(
    (name, step) => (typeof step === 'number' ? `${name}[${step}]` : name === '' ? step : `${name}.${step}`),
    root,
  );
  return name === '' ? 'value' : name;
}

/** What a value that breaks a part's limits is told, when the part names no refusal of its own. */
function limitsOf(schema: TSchema): string {
  const rules: Array<[unknown, string]> = [
    [schema.minLength, `at least ${schema.minLength} characters`],
    [schema.maxLength, `at most ${schema.maxLength} characters`],
    [schema.pattern, `matching /${schema.pattern}/`],
    [schema.minimum, `at least ${schema.minimum}`],
    [schema.maximum, `at most ${schema.maximum}`],
    [schema.minItems, `at least ${schema.minItems} items`],
    [schema.maxItems, `at most ${schema.maxItems} items`],
  ];
  return rules
    .filter(([limit]) => limit !== undefined)
    .map(([, rule]) => rule)
    .join(', ');
}

function refusalFor(problem: Problem): Refusal | undefined {
  const { schema, parent, kind } = problem;
  if (kind === 'limit' && schema.limitRefusal !== undefined) return schema.limitRefusal;
  if (schema.refusal !== undefined) return schema.refusal;
  // An enum names its choices itself, also when it is missing.
  if (enumValues(schema) !== undefined) return undefined;
  return kind === 'missing' ? parent?.refusal : undefined;
}

function problemError(problem: Problem, root: string): PandaError {
  const field = fieldName(root, problem.path);
  const refused = refusalFor(problem);
  if (refused !== undefined) {
    const entry = problem.path.at(-1);
    const message = refused.message.replaceAll('{field}', field).replaceAll('{name}', quoteName(String(entry ?? '')));
    return new PandaError(refused.code, message);
  }
  const choices = enumValues(problem.schema);
  if (choices !== undefined) return new PandaError('INVALID_INPUT', `'${field}' must be one of ${choices.join(', ')}`);
  if (problem.kind === 'limit')
    return new PandaError('INVALID_INPUT', `'${field}' must be ${limitsOf(problem.schema)}`);
  return new PandaError('INVALID_TYPE', typeErrorMessage(field, pythonTypeOf(problem.schema), problem.value));
}

/**
 * The first way `value` breaks `schema`, as the PandaError it is refused with, or undefined when
 * it fits. Fields are checked in the schema's order and the first wrong one is reported: by its
 * part's `refusal` or `limitRefusal` when it has one, a value outside an enum with the choices,
 * else a type error in PanDA's words, the field named below `root` (`data.jobs[0].state`).
 *
 * @example
 * schemaProblem(SetUserSecretsRequestSchema, { key: 'K', value: 5 })?.message
 * // "Type error: 'value' must be of type str, got int."
 */
export function schemaProblem(schema: TSchema, value: unknown, root = ''): PandaError | undefined {
  const problem = firstProblem(schema, value, []);
  return problem === undefined ? undefined : problemError(problem, root);
}

/**
 * Narrows `value` to what `schema` describes, or throws what `refuse` makes of the problem
 * {@link schemaProblem} finds (a client reports an answer it cannot use, the pilot a bundle).
 *
 * @example
 * assertSchema(TaskDetailSchema, data, (problem) => new PandaError('SERVER_ERROR', problem.message));
 * data.task.taskId; // typed
 */
export function assertSchema<T extends TSchema>(
  schema: T,
  value: unknown,
  refuse: (problem: PandaError) => Error,
  root = '',
): asserts value is Static<T> {
  const problem = schemaProblem(schema, value, root);
  if (problem !== undefined) throw refuse(problem);
}
