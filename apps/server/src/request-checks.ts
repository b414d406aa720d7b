import { PandaError } from '@panda-secrets/protocol';
import { schemaProblem } from '@panda-secrets/protocol/schemas';
import { Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * How `value` breaks `schema` (protocol's words), or undefined when it fits. A value that is not
 * a JSON object is read as an empty one, as PanDA's server reads a body: the first required
 * field is what is reported (`Type error: 'jobId' must be of type str, got NoneType.`).
 */
export function requestProblem(schema: TSchema, value: unknown): PandaError | undefined {
  return schemaProblem(schema, isRecord(value) ? value : {});
}

/** The fields of a query schema that are lists: `?keys=a` is a list of one, as `?keys=a&keys=b` is of two. */
function listFields(schema: TSchema): string[] {
  const properties = (schema.properties ?? {}) as Record<string, TSchema>;
  return Object.keys(properties).filter((name) => properties[name]?.[Kind] === 'Array');
}

function withLists(query: Record<string, unknown>, lists: readonly string[]): Record<string, unknown> {
  const listed = { ...query };
  for (const name of lists) {
    const value = listed[name];
    if (value !== undefined && !Array.isArray(value)) listed[name] = [value];
  }
  return listed;
}

/**
 * fastify's validator compiler for the routes' TypeBox schemas (from protocol): a compiled check
 * on every request, and on a refusal the PandaError `schemaProblem` words, so that each refused
 * field keeps its message, status and error code.
 */
export const compileRequestSchema: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const lists = httpPart === 'querystring' ? listFields(schema) : [];
  return (input: unknown) => {
    const value = lists.length > 0 && isRecord(input) ? withLists(input, lists) : input;
    if (check.Check(value)) return { value };
    const problem = httpPart === 'body' ? requestProblem(schema, value) : schemaProblem(schema, value);
    return { error: problem ?? new PandaError('INVALID_INPUT', 'the request is malformed') };
  };
};

/**
 * The last preHandler of every API route: refuses the request whose input could not be read
 * (request.inputProblem) or broke the route's schema. It runs after the route's role guard and the rate limit, so a pilot calling a user's
 * call is refused as such (403), whatever it sent.
 */
export async function refuseInvalidInput(request: FastifyRequest): Promise<void> {
  if (request.inputProblem !== undefined) throw request.inputProblem;
  if (request.validationError !== undefined) throw request.validationError;
}
