import { describe, expect, it } from '@jest/globals';
import yargs from 'yargs';
import { PandaError, isPandaError } from '@panda-secrets/protocol';
import type { Argv } from 'yargs';
import { addConnectionOptions, epilogue } from './index.js';
import type { Program, ProgramIo } from './index.js';
import { parseArguments, reportError } from './program.js';
import { collector, runCaptured, testCommand } from './testing/programs.js';

function report(error: unknown, verbose: boolean, usageHint?: string): { code: number; stderr: string } {
  const stderr = collector();
  const code = reportError(stderr.stream, error, {
    program: 'prog',
    verbose,
    ...(usageHint === undefined ? {} : { usageHint }),
  });
  return { code, stderr: stderr.text() };
}

describe('reportError', () => {
  const cause = new Error('disk full');
  const error = new PandaError('SERVER_ERROR', 'the store failed', { cause });

  it('writes one line without --verbose and exits with the code of the PandaError', () => {
    expect(report(error, false)).toEqual({ code: 1, stderr: 'prog: the store failed\n' });
    expect(report(new PandaError('NOT_FOUND', 'no secret named "K"'), false)).toEqual({
      code: 3,
      stderr: 'prog: no secret named "K"\n',
    });
    expect(report(new PandaError('AUTH_REFUSED', 'refused'), false).code).toBe(4);
  });

  it('adds the stack and each cause with --verbose', () => {
    expect(report(error, true)).toEqual({
      code: 1,
      stderr: `prog: the store failed\n${error.stack}\ncaused by: ${cause.stack}\n`,
    });
  });

  it('shows a cause that is no Error as text and stops where causes loop', () => {
    const looped = new Error('outer', { cause: 'inner text' });
    expect(report(looped, true).stderr).toBe(`prog: outer\n${looped.stack}\ncaused by: inner text\n`);
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    first.cause = second;
    expect(report(first, true).stderr).toBe(`prog: first\n${first.stack}\ncaused by: ${second.stack}\n`);
  });

  it('exits 1 for errors that are no PandaError, also for thrown non-errors', () => {
    expect(report(new TypeError('x is undefined'), false)).toEqual({ code: 1, stderr: 'prog: x is undefined\n' });
    expect(report('a string', true)).toEqual({ code: 1, stderr: 'prog: a string\n' });
  });

  it('adds the usage hint after a USAGE error only, below the stack', () => {
    const usage = new PandaError('USAGE', 'Unknown argument: x');
    const hint = 'Run "prog --help" for the options.';
    expect(report(usage, false, hint)).toEqual({ code: 2, stderr: `prog: Unknown argument: x\n${hint}\n` });
    expect(report(usage, true, hint).stderr).toBe(`prog: Unknown argument: x\n${usage.stack}\n${hint}\n`);
    expect(report(error, false, hint).stderr).toBe('prog: the store failed\n');
  });
});

describe('parseArguments', () => {
  const parser = (): Argv =>
    yargs().exitProcess(false).strict().locale('en').option('n', { type: 'number', demandOption: true });

  it('turns what yargs refuses into a USAGE PandaError with its message and the cause', async () => {
    const error = await parseArguments(parser(), []).catch((caught: unknown) => caught);
    expect(isPandaError(error) && error.code).toBe('USAGE');
    expect((error as PandaError).message).toBe('Missing required argument: n');
    expect((error as PandaError).cause).toMatchObject({ name: 'YError', message: 'Missing required argument: n' });
    await expect(parseArguments(parser(), ['-n', '1', '--bogus'])).rejects.toThrow('unknown option --bogus');
  });

  it('names unknown options but never repeats a stray word, which may be a secret value', async () => {
    const error = await parseArguments(parser(), [
      '-n',
      '1',
      's3cr3t-value-1',
      '--bogus',
      'x',
      'another-secret-2',
    ]).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'USAGE',
      message: 'unknown option --bogus; 2 unexpected arguments (not shown, as they may hold a secret)',
    });
    expect((error as PandaError).cause).toBeUndefined();
    const one = await parseArguments(parser(), ['-n', '1', 'valD-5555']).catch((caught: unknown) => caught);
    expect((one as PandaError).message).toBe('1 unexpected argument (not shown, as it may hold a secret)');
  });

  it('names the choices of an option given a value outside them, never the value, which may be a secret', async () => {
    const choosy = (): Argv =>
      yargs()
        .exitProcess(false)
        .strict()
        .locale('en')
        .option('role', { choices: ['user', 'pilot'] })
        .option('f', { choices: ['text', 'json'] });
    const error = await parseArguments(choosy(), ['--role', 's3cr3t-role-1', '-f', 'xml-s3cr3t-2']).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      code: 'USAGE',
      message: '--role takes one of "user", "pilot"; -f takes one of "text", "json" (the value given is not shown)',
    });
    expect((error as PandaError).cause).toBeUndefined();
  });

  it('gives the parsed arguments, or the text of --help without printing it', async () => {
    expect(await parseArguments(parser(), ['-n', '7'])).toMatchObject({ argv: { n: 7 } });
    expect(await parseArguments(parser().help(), ['--help'])).toEqual({ output: expect.stringContaining('-n') });
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ran: unknown[];
}

interface Setup extends Partial<Omit<Program<ProgramIo, unknown>, 'commands'>> {
  /** Declares the options instead of -v and -n. */
  builder?(parser: Argv): Argv;
  read?(argv: Record<string, unknown>): unknown;
  run?(parsed: unknown): Promise<number>;
  usageHint?: string;
  commands?: Program<ProgramIo, unknown>['commands'];
}

/** Runs a program of one command whose options are -v and -n, with what `setup` changes. */
async function run(args: string[], setup: Setup = {}): Promise<Run> {
  const ran: unknown[] = [];
  const { builder, read, run: work, usageHint, commands, ...program } = setup;
  const only = testCommand({
    builder:
      builder ??
      ((parser) =>
        parser
          .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'stacks' })
          .option('n', { type: 'string' })),
    options: read ?? ((argv) => argv.n),
    run:
      work ??
      (async (parsed) => {
        ran.push(parsed);
        return 0;
      }),
    ...(usageHint === undefined ? {} : { usageHint }),
  });
  const result = await runCaptured(args, {
    name: 'prog',
    version: '1.2.3',
    wrap: 80,
    epilogue: 'The end.',
    options: (parser) => parser,
    global: () => undefined,
    commands: commands ?? [only],
    ...program,
  });
  return { ...result, ran };
}

describe('runProgram', () => {
  it('reads, runs and returns the exit code of run', async () => {
    expect(await run(['-n', '5'], { run: async () => 7 })).toEqual({ code: 7, stdout: '', stderr: '', ran: [] });
    expect((await run(['-n', '007'])).ran).toEqual(['007']);
  });

  it('prints the help with the options in order, then --help and --version, then the epilogue', async () => {
    const help = await run(['--help'], {
      usage: '$0 --server URL [options]',
      wrap: 120,
      epilogue: epilogue({ environmentEnd: '.', exitCodes: ['Exit codes: 0 ok.'] }),
      builder: (parser) => addConnectionOptions(parser, { role: 'pilot' }),
    });
    expect(help).toEqual({
      code: 0,
      stdout: [
        'prog --server URL [options]',
        '',
        'Options:',
        '      --server      panda-server URL (else PANDA_URL_SSL, else http://127.0.0.1:25080)                          [string]',
        '      --token-file  file holding the pilot token (else PANDA_AUTH_ID_TOKEN, else OIDC_AUTH_TOKEN_FILE)          [string]',
        '      --vo          VO, sent as Origin (else PANDA_AUTH_VO)                                                     [string]',
        '      --ca-file     PEM file of a private CA to trust besides the public ones (else PANDA_CA_FILE)              [string]',
        '  -h, --help        Show help                                                                                  [boolean]',
        '      --version     Show version number                                                                        [boolean]',
        '',
        'Environment: PANDA_URL_SSL (server), PANDA_AUTH_ID_TOKEN (the token), OIDC_AUTH_TOKEN_FILE (a file holding the token),',
        'PANDA_AUTH_VO (VO), PANDA_CA_FILE (a private CA).',
        'Exit codes: 0 ok.',
        '',
      ].join('\n'),
      stderr: '',
      ran: [],
    });
    expect(await run(['--version'])).toEqual({ code: 0, stdout: '1.2.3\n', stderr: '', ran: [] });
  });

  it('exits 2 on a wrong command line, pointing to --help, and runs nothing', async () => {
    expect(await run(['--bogus'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'prog: unknown option --bogus\nRun "prog --help" for the options.\n',
      ran: [],
    });
    const read = (): never => {
      throw new PandaError('USAGE', '-n must be a number');
    };
    expect((await run(['-n', 'x'], { read })).stderr).toBe(
      'prog: -n must be a number\nRun "prog --help" for the options.\n',
    );
  });

  it("adds the command's own hint after the pointer to --help, only for a refused command line", async () => {
    const usageHint = 'A value that starts with - needs -- before it.';
    expect((await run(['--bogus'], { usageHint })).stderr).toBe(
      'prog: unknown option --bogus\nRun "prog --help" for the options.\nA value that starts with - needs -- before it.\n',
    );
    const failure = new PandaError('NOT_FOUND', 'no secret named "K"');
    expect((await run([], { usageHint, run: () => Promise.reject(failure) })).stderr).toBe(
      'prog: no secret named "K"\n',
    );
    expect((await run(['--bogus'])).stderr).toBe('prog: unknown option --bogus\nRun "prog --help" for the options.\n');
  });

  it('offers the commands in the hint of a program that has commands', async () => {
    const commands = [
      testCommand({ command: 'go', describe: 'go somewhere', options: () => undefined, run: async () => 0 }),
    ];
    expect((await run(['stop'], { commands })).stderr).toBe(
      'prog: unknown command "stop"\nRun "prog --help" for the commands and options.\n',
    );
    // A command typed twice is a stray word, which may be a secret value: it is only counted.
    expect((await run(['go', 'go'], { commands })).stderr).toBe(
      'prog: 1 unexpected argument (not shown, as it may hold a secret)\nRun "prog --help" for the commands and options.\n',
    );
  });

  it('shows the stack with --verbose also when the command line is wrong', async () => {
    const { code, stderr } = await run(['--bogus', '-v']);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^prog: unknown option --bogus\nPandaError: unknown option --bogus\n\s+at [^]*\nRun "prog --help" for the options\.\n$/,
    );
  });

  it('reports an error of run with its exit code, without the hint, and its stack only with --verbose', async () => {
    const failure = new PandaError('USAGE', 'pass --yes to confirm when not on a terminal');
    const quiet = await run([], { run: () => Promise.reject(failure) });
    expect([quiet.code, quiet.stderr]).toEqual([2, 'prog: pass --yes to confirm when not on a terminal\n']);
    const verbose = await run(['--verbose'], { run: () => Promise.reject(failure) });
    expect(verbose.stderr).toBe(`prog: pass --yes to confirm when not on a terminal\n${failure.stack}\n`);
    const crash = await run([], { run: () => Promise.reject(new RangeError('bad')) });
    expect([crash.code, crash.stderr]).toEqual([1, 'prog: bad\n']);
  });
});
