import { describe, expect, it } from '@jest/globals';
import { Type } from '@sinclair/typebox';
import { PandaError } from '../errors.js';
import { assertSchema, limitRefusal, pythonTypeName, refusal, schemaProblem } from './problems.js';
import {
  AcquireJobsRequestSchema,
  SecretBundleSchema,
  SetUserSecretsRequestSchema,
  SubmitJobsRequestSchema,
  TaskDetailSchema,
  UpdateJobRequestSchema,
} from './bodies.js';

function problemOf(schema: Parameters<typeof schemaProblem>[0], value: unknown, root?: string) {
  const problem = schemaProblem(schema, value, root);
  return problem === undefined ? undefined : [problem.code, problem.message];
}

describe("PanDA's type errors", () => {
  it.each([
    [null, 'NoneType'],
    [undefined, 'NoneType'],
    [true, 'bool'],
    [5, 'int'],
    [1e300, 'int'],
    [1.5, 'float'],
    ['x', 'str'],
    [[1], 'list'],
    [{ a: 1 }, 'dict'],
  ])('names %j as Python does: %s', (value, name) => {
    expect(pythonTypeName(value)).toBe(name);
  });

  it.each([
    [{ key: 'K', value: 5 }, "Type error: 'value' must be of type str, got int."],
    [{ key: 7, value: 'x' }, "Type error: 'key' must be of type str, got int."],
    [{ key: 'K', value: { a: 1 } }, "Type error: 'value' must be of type str, got dict."],
    [{ key: ['K'], value: null }, "Type error: 'key' must be of type str, got list."],
  ])('words a field of the wrong type as PanDA does: %j', (body, message) => {
    expect(problemOf(SetUserSecretsRequestSchema, body)).toEqual(['INVALID_TYPE', message]);
  });

  it('names a nested field by its path, and an item of a list of objects by its index', () => {
    expect(problemOf(SubmitJobsRequestSchema, { jobs: [{ exec: 'true', outDS: 'ds' }, 3] })).toEqual([
      'INVALID_TYPE',
      "Type error: 'jobs[1]' must be of type dict, got int.",
    ]);
    expect(problemOf(SubmitJobsRequestSchema, { jobs: [{ exec: 'true', outDS: 5 }] })).toEqual([
      'INVALID_TYPE',
      "Type error: 'jobs[0].outDS' must be of type str, got int.",
    ]);
    expect(problemOf(TaskDetailSchema, { task: {}, jobs: [] }, 'data')).toEqual([
      'INVALID_TYPE',
      "Type error: 'data.task.taskId' must be of type int, got NoneType.",
    ]);
  });

  it('reports a list of plain values as one field, whichever item is wrong', () => {
    expect(problemOf(SubmitJobsRequestSchema, { jobs: [{ exec: 'true', outDS: 'ds', secrets: ['A', 5] }] })).toEqual([
      'INVALID_TYPE',
      "Type error: 'jobs[0].secrets' must be of type list[str], got list.",
    ]);
  });

  it('reports a missing field as None, and checks fields in the order of the schema', () => {
    expect(problemOf(UpdateJobRequestSchema, { state: 5, claimId: 'c' })).toEqual([
      'INVALID_TYPE',
      "Type error: 'jobId' must be of type str, got NoneType.",
    ]);
  });

  it('tells a nullable field of the wrong type from one beyond its limits', () => {
    const update = { jobId: 'j', claimId: 'c', state: 'finished' };
    expect(problemOf(UpdateJobRequestSchema, { ...update, exitCode: null })).toBeUndefined();
    expect(problemOf(UpdateJobRequestSchema, { ...update, exitCode: 1.5 })).toEqual([
      'INVALID_TYPE',
      "Type error: 'exitCode' must be of type int, got float.",
    ]);
    expect(problemOf(UpdateJobRequestSchema, { ...update, exitCode: 256 })).toEqual([
      'INVALID_INPUT',
      "'exitCode' must be a process exit status from 0 to 255",
    ]);
  });
});

describe('refusals kept in a schema', () => {
  it('refuses any problem with a part by its refusal, also when it is missing', () => {
    const rule = "'publicKey' must be the pilot's one-time public key as a JWK object";
    expect(problemOf(AcquireJobsRequestSchema, {})).toEqual(['INVALID_INPUT', rule]);
    expect(problemOf(AcquireJobsRequestSchema, { publicKey: ['x'] })).toEqual(['INVALID_INPUT', rule]);
    expect(problemOf(AcquireJobsRequestSchema, { publicKey: {}, nJobs: 11 })).toEqual([
      'INVALID_INPUT',
      "'nJobs' must be an integer from 1 to 10",
    ]);
  });

  it("refuses a missing field by its object's refusal when it has none of its own", () => {
    expect(problemOf(SetUserSecretsRequestSchema, { value: 'v' })?.[1]).toMatch(
      /^the body must be a JSON object \{"key": \.\.\., "value": \.\.\.\}/,
    );
  });

  it('fills in the field and the quoted entry name, and takes the code it names', () => {
    const schema = Type.Object({
      list: Type.Array(Type.String({ maxLength: 2, ...limitRefusal('TOO_LARGE', '{field} is too long') })),
      map: Type.Record(Type.String(), Type.Integer(refusal('INVALID_NAME', 'entry {name} of {field}'))),
    });
    expect(problemOf(Type.Object({ a: schema }), { a: { list: [], map: { 'a b': 'x' } } })).toEqual([
      'INVALID_NAME',
      'entry "a b" of a.map.a b',
    ]);
    expect(
      problemOf(Type.Object({ exec: SubmitJobsRequestSchema.properties.jobs.items.properties.exec }), {
        exec: ' \t\n',
      }),
    ).toEqual(['INVALID_INPUT', 'exec must be a non-empty command of at most 65536 characters']);
  });

  it('lists the choices of an enum, also when the field is missing', () => {
    const choices = "'state' must be one of running, finished, failed, released";
    expect(problemOf(UpdateJobRequestSchema, { jobId: 'j', claimId: 'c' })).toEqual(['INVALID_INPUT', choices]);
    expect(problemOf(UpdateJobRequestSchema, { jobId: 'j', claimId: 'c', state: 'done' })).toEqual([
      'INVALID_INPUT',
      choices,
    ]);
  });

  it('says what limits a part without a refusal has', () => {
    const schema = Type.Object({ name: Type.String({ minLength: 1, maxLength: 3 }) });
    expect(problemOf(schema, { name: 'long' })).toEqual([
      'INVALID_INPUT',
      "'name' must be at least 1 characters, at most 3 characters",
    ]);
  });

  it("keeps the bundle's own words", () => {
    const bundle = { jobId: 'job-1', env: { A: 'a' }, files: {} };
    expect(problemOf(SecretBundleSchema, bundle)).toBeUndefined();
    expect(problemOf(SecretBundleSchema, 'bundle')?.[1]).toBe('it is not a JSON object');
    expect(problemOf(SecretBundleSchema, { ...bundle, jobId: '' })?.[1]).toBe('"jobId" is not a non-empty string');
    expect(problemOf(SecretBundleSchema, { ...bundle, env: { A: 42 } })?.[1]).toBe(
      'the env secret "A" is not a string',
    );
    expect(problemOf(SecretBundleSchema, { jobId: 'job-1', env: {} })?.[1]).toBe('"files" is not an object');
  });
});

describe('assertSchema', () => {
  it('lets a value that fits through, typed, and throws what the caller makes of a problem', () => {
    const value: unknown = { key: null };
    assertSchema(SetUserSecretsRequestSchema, value, (problem) => problem);
    expect(value.key).toBeNull();
    expect(() =>
      assertSchema(
        SetUserSecretsRequestSchema,
        { key: 1 },
        (problem) => new PandaError('SERVER_ERROR', `refused: ${problem.message}`),
      ),
    ).toThrow("refused: Type error: 'key' must be of type str, got int.");
  });
});
