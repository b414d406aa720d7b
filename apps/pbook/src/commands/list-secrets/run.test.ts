import { describe, expect, it } from '@jest/globals';
import { FakeClient, runCommand } from '../../testing/fakes.js';
import type { FakeSetup } from '../../testing/fakes.js';
import { runListSecrets } from './run.js';

function clientWithSecrets(): FakeClient {
  const client = new FakeClient();
  client.secrets.set('MY_SECRET', 'random_string');
  client.secrets.set('___file___:f.dat', 'A'.repeat(60));
  return client;
}

function list(options: { full: boolean; json: boolean }, setup: FakeSetup, color = true) {
  return runCommand(runListSecrets, options, { client: clientWithSecrets(), ...setup }, { verbose: false, color });
}

describe('list-secrets', () => {
  it('prints tab-separated rows when piped', async () => {
    const run = await list({ full: false, json: false }, {});
    expect(run.stdout).toBe(`MY_SECRET\tenv\trandom_string\nf.dat\tfile\t${'A'.repeat(50)}...\n`);
    expect(run.stderr).toBe('');
  });

  it('prints a table with a coloured head on a terminal', async () => {
    const run = await list({ full: true, json: false }, { isTTY: { stdin: true, stdout: true } });
    expect(run.stdout).toContain('\u001b[1m\u001b[36mKey\u001b[39m\u001b[22m');
    expect(run.stdout).toContain(`│ f.dat     │ file │ ${'A'.repeat(60)} │`);
  });

  it.each([
    ['NO_COLOR is set', { NO_COLOR: '1' }, true],
    ['--no-color is given', {}, false],
  ])('prints no colour when %s', async (_why, env, color) => {
    const run = await list({ full: false, json: false }, { isTTY: { stdin: true, stdout: true }, env }, color);
    expect(run.stdout).toContain('│ Key       │ Type │');
    expect(run.stdout).not.toContain('\u001b');
  });

  it('wraps long values within the width of the terminal', async () => {
    const run = await list({ full: true, json: false }, { isTTY: { stdin: true, stdout: true }, terminalWidth: 40 }, false);
    expect(run.stdout).toBe(
      [
        '┌───────────┬──────┬───────────────────┐',
        '│ Key       │ Type │ Value             │',
        '├───────────┼──────┼───────────────────┤',
        '│ MY_SECRET │ env  │ random_string     │',
        `│ f.dat     │ file │ ${'A'.repeat(17)} │`,
        `│           │      │ ${'A'.repeat(17)} │`,
        `│           │      │ ${'A'.repeat(17)} │`,
        `│           │      │ ${'A'.repeat(9)}         │`,
        '└───────────┴──────┴───────────────────┘',
        '',
      ].join('\n'),
    );
  });

  it('does not wrap rows when piped, JSON, or on a terminal that does not say its width', async () => {
    const piped = await list({ full: true, json: false }, { terminalWidth: 40 });
    expect(piped.stdout).toBe(`MY_SECRET\tenv\trandom_string\nf.dat\tfile\t${'A'.repeat(60)}\n`);
    const json = await list({ full: true, json: true }, { isTTY: { stdin: true, stdout: true }, terminalWidth: 40 });
    expect(JSON.parse(json.stdout)).toContainEqual({ key: 'f.dat', type: 'file', value: 'A'.repeat(60) });
    const unknown = await list({ full: true, json: false }, { isTTY: { stdin: true, stdout: true }, terminalWidth: 0 });
    expect(unknown.stdout).toContain(`│ f.dat     │ file │ ${'A'.repeat(60)} │`);
  });

  it('prints JSON with --json, truncated unless --full', async () => {
    const run = await list({ full: false, json: true }, { isTTY: { stdin: true, stdout: true } });
    expect(JSON.parse(run.stdout)).toEqual([
      { key: 'MY_SECRET', type: 'env', value: 'random_string' },
      { key: 'f.dat', type: 'file', value: `${'A'.repeat(50)}...` },
    ]);
  });
});
