import { describe, expect, it } from '@jest/globals';
import type { Argv } from 'yargs';
import { closestWord, completionShell } from './index.js';
import type { Program, ProgramIo } from './index.js';
import { runCaptured, testCommand } from './testing/programs.js';

/** A program with two commands whose options and run record that they were called. */
async function run(
  args: string[],
  extra: Partial<Program<ProgramIo, unknown>> = {},
): Promise<{ code: number; stdout: string; stderr: string; calls: string[] }> {
  const calls: string[] = [];
  const recorded = (command: string | string[], describe: string, builder: (parser: Argv) => Argv) =>
    testCommand({
      command,
      describe,
      builder,
      options: () => {
        calls.push('read');
      },
      run: async () => {
        calls.push('run');
        return 0;
      },
      examples: [['$0 list-things --json', 'the things as JSON']],
    });
  const result = await runCaptured(args, {
    name: 'prog',
    version: '1.0.0',
    wrap: 80,
    epilogue: '',
    options: (parser) =>
      parser
        .option('server', { type: 'string', describe: 'where' })
        .option('exec', { type: 'string', demandOption: true }),
    global: () => undefined,
    commands: [
      recorded(['list-things', '$0'], 'list', (yargs) => yargs.option('json', { type: 'boolean' })),
      recorded('delete-thing <name>', 'delete', (yargs) => yargs.positional('name', { type: 'string' })),
    ],
    ...extra,
  });
  return { ...result, calls };
}

describe('the completion flag', () => {
  it('lists completions and runs nothing, whatever else the command line holds', async () => {
    for (const words of [
      [],
      [''],
      ['list-things', ''],
      ['list-things', '--'],
      ['--exec', 'rm -rf x', 'delete-thing', 'x'],
    ]) {
      const result = await run(['--get-yargs-completions', 'prog', ...words]);
      expect({ code: result.code, stderr: result.stderr, calls: result.calls }).toEqual({
        code: 0,
        stderr: '',
        calls: [],
      });
    }
  });

  it('offers commands, then the options of the command typed, then values of the program', async () => {
    expect((await run(['--get-yargs-completions', 'prog', ''])).stdout).toBe('list-things\ndelete-thing\ncompletion\n');
    expect((await run(['--get-yargs-completions', 'prog', 'li'])).stdout).toBe('list-things\n');
    expect((await run(['--get-yargs-completions', 'prog', 'list-things', '--j'])).stdout).toBe('--json\n');
    expect((await run(['--get-yargs-completions', 'prog', '--s'])).stdout).toBe('--server\n');
    const names = async (before: readonly string[], current: string) =>
      before[0] === 'delete-thing' ? ['alpha', 'beta'].filter((name) => name.startsWith(current)) : [];
    expect((await run(['--get-yargs-completions', 'prog', 'delete-thing', 'b'], { complete: names })).stdout).toBe(
      'beta\n',
    );
  });

  it('prints yargs\' bash or zsh script for "completion [SHELL]" and runs nothing', async () => {
    const bash = await run(['completion', 'bash']);
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _prog_yargs_completions prog');
    expect(bash.stdout).toContain('prog --get-yargs-completions');
    const zsh = await run(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef prog\n/);
    expect(zsh.stdout).toContain('compdef _prog_yargs_completions prog');
    expect([bash.calls, zsh.calls]).toEqual([[], []]);
    expect(await run(['completion', 'fish'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('completion takes one of bash, zsh, not "fish"'),
    });
    expect([completionShell([], { SHELL: '/usr/bin/zsh' }), completionShell([], {})]).toEqual(['zsh', 'bash']);
  });
});

describe('help', () => {
  it('has an Examples section and says "did you mean" for a mistyped command', async () => {
    expect((await run(['--help'])).stdout).toContain(
      'Examples:\n  prog list-things --json\n      the things as JSON\n',
    );
    expect((await run(['list-thing'])).stderr).toBe(
      'prog: unknown command "list-thing"; did you mean "list-things"?\nRun "prog --help" for the commands and options.\n',
    );
    // A word far from every command may be a secret: it gets no suggestion.
    expect((await run(['hunter2'])).stderr).toBe(
      'prog: unknown command "hunter2"\nRun "prog --help" for the commands and options.\n',
    );
  });

  it('picks the nearest command, preferring the same separators', () => {
    expect(closestWord('list-secret', ['list_secrets', 'list-secrets', 'set-secret'])).toBe('list-secrets');
    expect(closestWord('list_secret', ['list_secrets', 'list-secrets'])).toBe('list_secrets');
    expect(closestWord('zzz', ['list-secrets'])).toBeUndefined();
  });
});
