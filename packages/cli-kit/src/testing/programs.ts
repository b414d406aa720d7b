import { PassThrough } from 'node:stream';
import type { Argv } from 'yargs';
import type { CommandSpec, Examples } from '../command.js';
import type { ClientDeps } from '../lazy-client.js';
import { type Program, type ProgramIo, runProgram } from '../program.js';

/** A stream that keeps what is written to it. */
export function collector(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program` on `args` with captured output and the environment `env`. */
export async function runCaptured<Global, Client>(
  args: readonly string[],
  program: Program<ProgramIo, Global, Client>,
  env: ProgramIo['env'] = {},
): Promise<Captured> {
  const stdout = collector();
  const stderr = collector();
  const code = await runProgram({ stdout: stdout.stream, stderr: stderr.stream, env }, args, program);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** What a test's command is made of; `run` gets its options. */
export interface TestCommand<Options> {
  command?: string | readonly string[];
  describe?: string;
  builder?(parser: Argv): Argv;
  options(argv: Record<string, unknown>): Options;
  run(options: Options): Promise<number> | Promise<void>;
  examples?: Examples;
  usageHint?: string;
}

/** A command for runProgram whose run function is `run`, by default the program's only command. */
export function testCommand<Options>(
  spec: TestCommand<Options>,
): CommandSpec<ProgramIo & ClientDeps<never>, unknown, Options> {
  return {
    command: spec.command ?? '$0',
    describe: spec.describe ?? '',
    builder: spec.builder ?? ((parser) => parser),
    options: spec.options,
    load: async () => (_deps, _global, options) => spec.run(options),
    examples: spec.examples ?? [],
    ...(spec.usageHint === undefined ? {} : { usageHint: spec.usageHint }),
  };
}
