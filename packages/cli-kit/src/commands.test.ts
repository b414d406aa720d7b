import { describe, expect, it } from '@jest/globals';
import { PandaError } from '@panda-secrets/protocol';
import type { CommandSpec, Program, ProgramIo } from './index.js';
import { addColorOption, addVerboseOption, lazyClient, useColor } from './index.js';
import type { ClientDeps } from './lazy-client.js';
import { runCaptured } from './testing/programs.js';

interface Global {
  server: string | undefined;
}

type Deps = ProgramIo & ClientDeps<string>;

/** What a command of the test program does. */
type Work = (deps: Deps) => Promise<number> | Promise<void>;

/** What the commands of the test program did. */
interface Log {
  loaded: string[];
  ran: Array<{ command: string; global: Global; options: unknown }>;
  connections: Global[];
}

function commands(log: Log, work: Work = async () => undefined) {
  const recorded = <Options>(
    spec: Omit<CommandSpec<Deps, Global, Options>, 'load' | 'describe' | 'examples'>,
  ): CommandSpec<Deps, Global, Options> => ({
    ...spec,
    describe: `the ${String(spec.command)} command`,
    examples: [[`$0 ${String([spec.command].flat()[0]).split(' ')[0]}`, 'an example']],
    load: async () => {
      log.loaded.push(String(spec.command));
      return (deps, global, options) => {
        log.ran.push({ command: String(spec.command), global, options });
        return work(deps);
      };
    },
  });
  return [
    recorded({
      command: 'add <name>',
      builder: (parser) => parser.option('twice', { type: 'boolean', default: false }),
      options: (argv) => ({ name: String(argv.name), twice: argv.twice === true }),
      usageHint: 'A name that starts with - needs -- before it.',
    }),
    recorded({
      command: ['list', '$0'],
      builder: (parser) =>
        parser.option('json', { type: 'boolean', default: false }).option('port', { type: 'number' }),
      options: (argv) => ({ json: argv.json === true, port: argv.port }),
    }),
  ];
}

function program(log: Log, extra: Partial<Program<ProgramIo, Global, string>> = {}, work?: Work) {
  return {
    name: 'prog',
    version: '1.0.0',
    wrap: 100,
    epilogue: 'Exit codes: 0 ok.',
    options: (parser: Parameters<Program<ProgramIo, Global>['options']>[0]) =>
      addVerboseOption(parser.option('server', { type: 'string', global: true }), { global: true }),
    global: (argv: Record<string, unknown>): Global => ({ server: argv.server as string | undefined }),
    commands: commands(log, work),
    connect: async (_deps: ProgramIo, global: Global) => {
      log.connections.push(global);
      return `client of ${global.server}`;
    },
    ...extra,
  } satisfies Program<ProgramIo, Global, string>;
}

const emptyLog = (): Log => ({ loaded: [], ran: [], connections: [] });

describe('a program with commands', () => {
  it('runs the command yargs chose with its options and the program-wide ones, loading no other', async () => {
    const log = emptyLog();
    const added = await runCaptured(['add', 'x', '--twice', '--server', 'https://s'], program(log));
    expect(added).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(log.loaded).toEqual(['add <name>']);
    expect(log.ran).toEqual([
      { command: 'add <name>', global: { server: 'https://s' }, options: { name: 'x', twice: true } },
    ]);
    const listed = emptyLog();
    await runCaptured(['--json'], program(listed));
    expect(listed.ran).toEqual([
      { command: 'list,$0', global: { server: undefined }, options: { json: true, port: undefined } },
    ]);
  });

  it("returns the command's exit code, 0 when it returns none", async () => {
    expect(
      (
        await runCaptured(
          ['list'],
          program(emptyLog(), {}, async () => 3),
        )
      ).code,
    ).toBe(3);
    expect(
      (
        await runCaptured(
          ['list'],
          program(emptyLog(), {}, async () => undefined),
        )
      ).code,
    ).toBe(0);
  });

  it("adds the chosen command's own hint when its command line is refused, and loads nothing", async () => {
    const log = emptyLog();
    expect(await runCaptured(['add', 'x', '-y'], program(log))).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'prog: unknown option -y\nRun "prog --help" for the commands and options.\nA name that starts with - needs -- before it.\n',
    });
    expect((await runCaptured(['list', '-y'], program(log))).stderr).toBe(
      'prog: unknown option -y\nRun "prog --help" for the commands and options.\n',
    );
    expect(log.loaded).toEqual([]);
  });

  it('shows a command its examples, then the epilogue of the program', async () => {
    const { stdout } = await runCaptured(['add', '--help'], program(emptyLog()));
    expect(stdout).toMatch(/^prog add <name>\n\nthe add <name> command\n/);
    expect(stdout).toMatch(/\n\nExamples:\n {2}prog add\n {6}an example\n\nExit codes: 0 ok\.\n$/);
    const { stdout: top } = await runCaptured(['--help'], program(emptyLog()));
    expect(top).toContain('Commands:\n  prog add <name>');
    expect(top).toContain('Examples:\n  prog list\n');
  });

  it('makes the client on the first call of deps.client() only, once, with the program-wide options', async () => {
    const log = emptyLog();
    const clients: string[] = [];
    const twice = async (deps: Deps) => {
      clients.push(await deps.client(), await deps.client());
      return 0;
    };
    await runCaptured(['list', '--server', 'https://s'], program(log, {}, twice));
    expect([clients, log.connections]).toEqual([
      ['client of https://s', 'client of https://s'],
      [{ server: 'https://s' }],
    ]);
    const idle = emptyLog();
    await runCaptured(['list'], program(idle));
    expect(idle.connections).toEqual([]);
  });

  it('reports a connection that fails as the failure of the command that asked for it', async () => {
    const refusing = { connect: async () => Promise.reject(new PandaError('AUTH_REQUIRED', 'no token')) };
    const calling = async (deps: Deps) => {
      await deps.client();
      return 0;
    };
    expect(await runCaptured(['list'], program(emptyLog(), refusing, calling))).toEqual({
      code: 4,
      stdout: '',
      stderr: 'prog: no token\n',
    });
    expect((await runCaptured(['list'], program(emptyLog(), refusing))).code).toBe(0);
  });

  it('takes PREFIX_OPTION variables for the options of the command run, the command line first', async () => {
    const log = emptyLog();
    const env = { PROG_PORT: '8080', PROG_JSON: 'true', PROG_TWICE: 'true', PROG_HELP: 'true', PROG_OTHER: 'x' };
    expect(await runCaptured(['list'], program(log, { envPrefix: 'PROG' }), env)).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    await runCaptured(['list', '--port', '1'], program(log, { envPrefix: 'PROG' }), env);
    // PROG_TWICE is an option of add only: list neither takes nor refuses it.
    await runCaptured(['add', 'x'], program(log, { envPrefix: 'PROG' }), { PROG_TWICE: 'true', PROG_PORT: 'x' });
    expect(log.ran.map(({ options }) => options)).toEqual([
      { json: true, port: 8080 },
      { json: true, port: 1 },
      { name: 'x', twice: true },
    ]);
    expect((await runCaptured(['list'], program(emptyLog()), env)).code).toBe(0);
  });

  it('has no -h where the program asks for none', async () => {
    expect((await runCaptured(['-h'], program(emptyLog(), { shortHelp: false }))).stderr).toBe(
      'prog: unknown option -h\nRun "prog --help" for the commands and options.\n',
    );
    expect((await runCaptured(['-h'], program(emptyLog()))).stdout).toContain('--help');
  });
});

describe('lazyClient', () => {
  it('makes the client once, makes it again after reset, and lets no failure stick', async () => {
    let made = 0;
    let fail = true;
    const client = lazyClient(async () => {
      made += 1;
      if (fail) throw new Error(`attempt ${made} failed`);
      return `client ${made}`;
    });
    expect(made).toBe(0);
    await expect(client()).rejects.toThrow('attempt 1 failed');
    fail = false;
    expect([await client(), await client(), made]).toEqual(['client 2', 'client 2', 2]);
    client.reset();
    expect([await client(), made]).toEqual(['client 3', 3]);
  });
});

describe('the flags every program shares', () => {
  it('colours only when asked, on a terminal, without NO_COLOR', () => {
    expect([
      useColor(true, true, {}),
      useColor(true, true, { NO_COLOR: '' }),
      useColor(false, true, {}),
      useColor(true, false, {}),
      useColor(true, true, { NO_COLOR: '1' }),
    ]).toEqual([true, true, false, false, false]);
  });

  it('declares --verbose with -v unless asked not to, and --color with --no-color', async () => {
    const help = async (declare: Program<ProgramIo, Global>['options'], shortHelp = true) =>
      (await runCaptured(['--help'], { ...program(emptyLog()), commands: [], options: declare, shortHelp })).stdout;
    expect(await help((parser) => addColorOption(addVerboseOption(parser)))).toMatch(
      /-v, --verbose +show stack traces of errors +\[boolean\] \[default: false\]\n +--color +colour on a terminal; --no-color \(or NO_COLOR\) turns it off/,
    );
    const plain = await help(
      (parser) => addVerboseOption(parser, { describe: 'Print stack traces', short: false }),
      false,
    );
    expect(plain).toMatch(/\n {2}--verbose +Print stack traces +\[boolean\] \[default: false\]\n/);
    expect(plain).not.toContain('-v,');
  });
});
