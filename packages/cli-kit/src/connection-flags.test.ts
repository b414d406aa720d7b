import { describe, expect, it } from '@jest/globals';
import type { Argv } from 'yargs';
import { addConnectionOptions, readConnectionOptions } from './index.js';
import type { ConnectionFlags } from './index.js';
import { runCaptured, testCommand } from './testing/programs.js';

/** Parses `args` with the connection options declared by `declare` and reads them back. */
async function roundTrip(
  args: string[],
  declare: (parser: Argv) => Argv = (parser) => addConnectionOptions(parser),
): Promise<ConnectionFlags[]> {
  const read: ConnectionFlags[] = [];
  const { code } = await runCaptured(args, {
    name: 'prog',
    version: '1.0.0',
    wrap: 80,
    epilogue: '',
    options: declare,
    global: () => undefined,
    commands: [
      testCommand({
        options: readConnectionOptions,
        run: async (flags) => {
          read.push(flags);
          return 0;
        },
      }),
    ],
  });
  expect(code).toBe(0);
  return read;
}

describe('connection options', () => {
  it('reads back the flags given, as strings, and leaves out those not given', async () => {
    expect(await roundTrip(['--server', 'https://panda:8443', '--token-file', '/t/token', '--vo', '007'])).toEqual([
      { server: 'https://panda:8443', tokenFile: '/t/token', vo: '007' },
    ]);
    expect(await roundTrip(['--token-file=/t'])).toEqual([{ tokenFile: '/t' }]);
    expect(await roundTrip([])).toEqual([{}]);
  });

  it('reads --token-file with camel-case expansion turned off', async () => {
    const declare = (parser: Argv): Argv =>
      addConnectionOptions(parser.parserConfiguration({ 'camel-case-expansion': false }));
    expect(await roundTrip(['--token-file', '/t'], declare)).toEqual([{ tokenFile: '/t' }]);
  });

  it('declares the flags for every command with global', async () => {
    const withCommand = (parser: Argv): Argv =>
      addConnectionOptions(parser, { global: true }).command('go', 'go', (sub) => sub);
    expect(await roundTrip(['go', '--vo', 'atlas'], withCommand)).toEqual([{ vo: 'atlas' }]);
  });

  it("describes the flags as a user's, or as a pilot's", async () => {
    const help = async (role: 'user' | 'pilot'): Promise<string> => {
      const { stdout } = await runCaptured(['--help'], {
        name: 'prog',
        version: '1.0.0',
        wrap: 120,
        epilogue: '',
        options: (parser) => addConnectionOptions(parser, { role }),
        global: () => undefined,
        commands: [testCommand({ options: () => undefined, run: async () => 0 })],
      });
      return stdout;
    };
    expect(await help('user')).toMatch(
      /--token-file +file holding your token \(else[^]*--vo +your VO, sent as Origin \(else PANDA_AUTH_VO\)/,
    );
    expect(await help('pilot')).toMatch(
      /--token-file +file holding the pilot token \(else[^]*--vo +VO, sent as Origin \(else PANDA_AUTH_VO\)/,
    );
  });

  it('reads nothing that is absent, whatever else argv holds', () => {
    expect(readConnectionOptions({ _: [], $0: 'prog', verbose: true })).toEqual({});
  });
});
