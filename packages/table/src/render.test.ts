import { describe, expect, it } from '@jest/globals';
import { renderRows, renderSecrets, secretEntries, truncateValue } from './index.js';

const LONG = 'H4sIABmjwWEAA+3TTU7DMBAF4P2cwhdI6m4QAtGMEULxKCrgSB'; // 50 characters
const SEED = {
  MY_SECRET_DIC: '{"a_key": "a_value"}',
  '___file___:my_secret_file.dat': `${LONG}-tail`,
  MY_SECRET: 'random_string',
};

describe('secretEntries', () => {
  it('removes the file prefix, types each entry and sorts by key in code-unit order', () => {
    expect(secretEntries({ b: '1', '___file___:B': '2', A: '3', B: '4', _: '5' })).toEqual([
      { key: 'A', type: 'env', value: '3' },
      { key: 'B', type: 'env', value: '4' },
      { key: 'B', type: 'file', value: '2' },
      { key: '_', type: 'env', value: '5' },
      { key: 'b', type: 'env', value: '1' },
    ]);
  });
});

describe('truncateValue', () => {
  it('keeps 50 characters and cuts the 51st', () => {
    expect(truncateValue('x'.repeat(50), false)).toBe('x'.repeat(50));
    expect(truncateValue(`${'x'.repeat(50)}y`, false)).toBe(`${'x'.repeat(50)}...`);
    expect(truncateValue(`${'x'.repeat(50)}y`, true)).toBe(`${'x'.repeat(50)}y`);
  });

  it('counts characters, not UTF-16 units, and never splits one', () => {
    expect(truncateValue('😀'.repeat(50), false)).toBe('😀'.repeat(50));
    expect(truncateValue('😀'.repeat(51), false)).toBe(`${'😀'.repeat(50)}...`);
  });
});

describe('renderSecrets', () => {
  const entries = secretEntries(SEED);

  it('renders a plain table without colour', () => {
    expect(renderSecrets(entries, { format: 'table', full: false, color: false })).toBe(
      [
        '┌────────────────────┬──────┬───────────────────────────────────────────────────────┐',
        '│ Key                │ Type │ Value                                                 │',
        '├────────────────────┼──────┼───────────────────────────────────────────────────────┤',
        '│ MY_SECRET          │ env  │ random_string                                         │',
        '│ MY_SECRET_DIC      │ env  │ {"a_key": "a_value"}                                  │',
        `│ my_secret_file.dat │ file │ ${LONG}... │`,
        '└────────────────────┴──────┴───────────────────────────────────────────────────────┘',
        '',
      ].join('\n'),
    );
  });

  it('colours only the head, bold cyan, when asked', () => {
    const output = renderSecrets(entries.slice(0, 1), { format: 'table', full: false, color: true });
    expect(output.split('\n')[1]).toBe(
      '│ \u001b[1m\u001b[36mKey\u001b[39m\u001b[22m       │ \u001b[1m\u001b[36mType\u001b[39m\u001b[22m │ \u001b[1m\u001b[36mValue\u001b[39m\u001b[22m         │',
    );
    expect(output.split('\n').slice(2).join('\n')).not.toContain('\u001b');
  });

  it('renders the whole value with full', () => {
    const output = renderSecrets(entries, { format: 'plain', full: true, color: false });
    expect(output).toContain(`my_secret_file.dat\tfile\t${LONG}-tail\n`);
  });

  it('renders tab-separated rows without head or colour, one line per secret', () => {
    expect(renderSecrets(entries, { format: 'plain', full: false, color: true })).toBe(
      'MY_SECRET\tenv\trandom_string\n' +
        'MY_SECRET_DIC\tenv\t{"a_key": "a_value"}\n' +
        `my_secret_file.dat\tfile\t${LONG}...\n`,
    );
  });

  it('escapes tab, newline, CR and backslash so a row stays one line', () => {
    const output = renderSecrets([{ key: 'K', type: 'env', value: 'a\tb\nc\rd\\e' }], {
      format: 'plain',
      full: false,
      color: false,
    });
    expect(output).toBe('K\tenv\ta\\tb\\nc\\rd\\\\e\n');
  });

  it('renders stable JSON with the same truncation', () => {
    expect(renderSecrets(entries, { format: 'json', full: false, color: true })).toBe(
      `${JSON.stringify(
        [
          { key: 'MY_SECRET', type: 'env', value: 'random_string' },
          { key: 'MY_SECRET_DIC', type: 'env', value: '{"a_key": "a_value"}' },
          { key: 'my_secret_file.dat', type: 'file', value: `${LONG}...` },
        ],
        null,
        2,
      )}\n`,
    );
  });

  it('renders no secrets as an empty head-only table, no rows, or []', () => {
    expect(renderSecrets([], { format: 'table', full: false, color: false })).toBe(
      '┌─────┬──────┬───────┐\n│ Key │ Type │ Value │\n└─────┴──────┴───────┘\n',
    );
    expect(renderSecrets([], { format: 'plain', full: false, color: false })).toBe('');
    expect(renderSecrets([], { format: 'json', full: false, color: false })).toBe('[]\n');
  });
});

describe('renderSecrets at a terminal width', () => {
  const entries = secretEntries(SEED);
  const full = (width: number | undefined, format: 'table' | 'plain' | 'json' = 'table') =>
    renderSecrets(entries, { format, full: true, color: false, width });

  it('wraps the values within the width, anywhere in a word', () => {
    expect(full(50)).toBe(
      [
        '┌────────────────────┬──────┬────────────────────┐',
        '│ Key                │ Type │ Value              │',
        '├────────────────────┼──────┼────────────────────┤',
        '│ MY_SECRET          │ env  │ random_string      │',
        '│ MY_SECRET_DIC      │ env  │ {"a_key": "a_value │',
        '│                    │      │ "}                 │',
        '│ my_secret_file.dat │ file │ H4sIABmjwWEAA+3TTU │',
        '│                    │      │ 7DMBAF4P2cwhdI6m4Q │',
        '│                    │      │ AtGMEULxKCrgSB-tai │',
        '│                    │      │ l                  │',
        '└────────────────────┴──────┴────────────────────┘',
        '',
      ].join('\n'),
    );
  });

  it('leaves a table that fits as it is, and wraps from one column less', () => {
    const natural = full(undefined);
    const naturalWidth = natural.indexOf('\n');
    expect(naturalWidth).toBe(87);
    expect(full(naturalWidth)).toBe(natural);
    const narrower = full(naturalWidth - 1).split('\n');
    expect(narrower.slice(5, 8)).toEqual([
      `│ my_secret_file.dat │ file │ ${LONG}-tai │`,
      '│                    │      │ l                                                      │',
      '└────────────────────┴──────┴────────────────────────────────────────────────────────┘',
    ]);
  });

  it('keeps the last column as wide as its head on a very narrow terminal', () => {
    expect(full(10).split('\n').slice(0, 4)).toEqual([
      '┌────────────────────┬──────┬───────┐',
      '│ Key                │ Type │ Value │',
      '├────────────────────┼──────┼───────┤',
      '│ MY_SECRET          │ env  │ rando │',
    ]);
  });

  it('never wraps plain rows or JSON', () => {
    expect(full(20, 'plain')).toBe(full(undefined, 'plain'));
    expect(full(20, 'json')).toBe(full(undefined, 'json'));
    expect(full(20, 'plain')).toContain(`my_secret_file.dat\tfile\t${LONG}-tail\n`);
  });
});

describe('renderRows', () => {
  it('renders any head and rows in the three formats', () => {
    const rows = [['1', 'queued']];
    expect(renderRows(['Id', 'State'], rows, { format: 'plain', color: false })).toBe('1\tqueued\n');
    expect(renderRows(['Id', 'State'], rows, { format: 'json', color: false })).toBe(
      '[\n  {\n    "Id": "1",\n    "State": "queued"\n  }\n]\n',
    );
    expect(renderRows(['Id', 'State'], rows, { format: 'table', color: false })).toBe(
      '┌────┬────────┐\n│ Id │ State  │\n├────┼────────┤\n│ 1  │ queued │\n└────┴────────┘\n',
    );
  });
});

describe('renderRows cutting its last column', () => {
  const rows = [['1', 'echo a long command line that does not fit'], ['22', 'short']];
  const render = (width: number | undefined) => renderRows(['Id', 'Exec'], rows, { format: 'table', color: false, width, overflow: 'cut' });

  it('cuts the last cells to one line ending in ... within the width', () => {
    expect(render(24)).toBe(
      [
        '┌────┬─────────────────┐',
        '│ Id │ Exec            │',
        '├────┼─────────────────┤',
        '│ 1  │ echo a long ... │',
        '│ 22 │ short           │',
        '└────┴─────────────────┘',
        '',
      ].join('\n'),
    );
  });

  it('leaves a table that fits, or a terminal that does not say its width, as it is', () => {
    expect(render(undefined)).toContain('│ 1  │ echo a long command line that does not fit │');
    expect(render(200)).toBe(render(undefined));
  });
});
