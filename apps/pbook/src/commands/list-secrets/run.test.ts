import { describe, expect, it } from '@jest/globals';
import { FAKE_UPDATED_AT, FakeClient, runCommand, runPbook } from '../../testing/fakes.js';
import type { FakeSetup } from '../../testing/fakes.js';
import { runListSecrets } from './run.js';

function clientWithSecrets(): FakeClient {
  const client = new FakeClient();
  client.secrets.set('MY_SECRET', 'random_string');
  client.secrets.set('___file___:f.dat', 'A'.repeat(60));
  return client;
}

function list(options: { full: boolean; json: boolean; names?: boolean }, setup: FakeSetup, color = true) {
  return runCommand(
    runListSecrets,
    { names: false, ...options },
    { client: clientWithSecrets(), ...setup },
    { verbose: false, color },
  );
}

describe('list-secrets', () => {
  it('prints tab-separated rows when piped', async () => {
    const run = await list({ full: false, json: false }, {});
    expect(run.stdout).toBe(
      `MY_SECRET\tenv\trandom_string\t13\t${FAKE_UPDATED_AT}\nf.dat\tfile\t${'A'.repeat(50)}...\t45\t${FAKE_UPDATED_AT}\n`,
    );
    expect(run.stderr).toBe('');
  });

  it('prints a table with a coloured head on a terminal', async () => {
    const run = await list({ full: true, json: false }, { isTTY: { stdin: true, stdout: true } });
    expect(run.stdout).toContain('\u001b[1m\u001b[36mKey\u001b[39m\u001b[22m');
    expect(run.stdout).toMatch(new RegExp(`│ f\\.dat     │ file │ 45 B │ [a-z0-9 ]+ago │ ${'A'.repeat(60)} │`));
  });

  it.each([
    ['NO_COLOR is set', { NO_COLOR: '1' }, []],
    ['--no-color is given', {}, ['--no-color']],
  ])('prints no colour when %s', async (_why, env, flags) => {
    const run = await runPbook(['list-secrets', ...flags], {
      client: clientWithSecrets(),
      isTTY: { stdin: true, stdout: true },
      env,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('│ Key       │ Type │');
    expect(run.stdout).not.toContain('\u001b');
  });

  it('wraps long values within the width of the terminal, leaving out size and time below 60 columns', async () => {
    const run = await list(
      { full: true, json: false },
      { isTTY: { stdin: true, stdout: true }, terminalWidth: 40 },
      false,
    );
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
    const wide = await list(
      { full: true, json: false },
      { isTTY: { stdin: true, stdout: true }, terminalWidth: 60 },
      false,
    );
    for (const line of wide.stdout.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    expect(wide.stdout).toContain('│ Key       │ Type │ Size │ Updated');
  });

  it('prints the names only with --names, without fetching a value', async () => {
    const run = await list({ full: false, json: false, names: true }, {});
    expect(run.stdout).toBe('MY_SECRET\nf.dat\n');
    expect(run.client.calls).toEqual(['metadata']);
    const json = await list({ full: false, json: true, names: true }, {});
    expect(JSON.parse(json.stdout)).toEqual([
      { key: 'MY_SECRET', type: 'env', size: 13, updatedAt: FAKE_UPDATED_AT },
      { key: 'f.dat', type: 'file', size: 45, updatedAt: FAKE_UPDATED_AT },
    ]);
  });

  it('does not wrap rows when piped, JSON, or on a terminal that does not say its width', async () => {
    const piped = await list({ full: true, json: false }, { terminalWidth: 40 });
    expect(piped.stdout).toBe(
      `MY_SECRET\tenv\trandom_string\t13\t${FAKE_UPDATED_AT}\nf.dat\tfile\t${'A'.repeat(60)}\t45\t${FAKE_UPDATED_AT}\n`,
    );
    const json = await list({ full: true, json: true }, { isTTY: { stdin: true, stdout: true }, terminalWidth: 40 });
    expect(JSON.parse(json.stdout)).toContainEqual({
      key: 'f.dat',
      type: 'file',
      value: 'A'.repeat(60),
      size: 45,
      updatedAt: FAKE_UPDATED_AT,
    });
    const unknown = await list({ full: true, json: false }, { isTTY: { stdin: true, stdout: true }, terminalWidth: 0 });
    expect(unknown.stdout).toContain(`│ 45 B │`);
    expect(unknown.stdout).toContain(`│ ${'A'.repeat(60)} │`);
  });

  it('prints JSON with --json: whole values (with or without --full), size and updatedAt', async () => {
    const run = await list({ full: false, json: true }, { isTTY: { stdin: true, stdout: true } });
    expect(JSON.parse(run.stdout)).toEqual([
      { key: 'MY_SECRET', type: 'env', value: 'random_string', size: 13, updatedAt: FAKE_UPDATED_AT },
      { key: 'f.dat', type: 'file', value: 'A'.repeat(60), size: 45, updatedAt: FAKE_UPDATED_AT },
    ]);
  });
});
