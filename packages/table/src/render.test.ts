import stringWidth from 'string-width';
import { describe, expect, it } from '@jest/globals';
import { relativeTime, renderRows, renderSecrets, secretEntries, truncateValue } from './index.js';

const LONG = 'H4sIABmjwWEAA+3TTU7DMBAF4P2cwhdI6m4QAtGMEULxKCrgSB'; // 50 characters
const SEED = {
  MY_SECRET_DIC: '{"a_key": "a_value"}',
  '___file___:my_secret_file.dat': `${LONG}-tail`,
  MY_SECRET: 'random_string',
};

describe('secretEntries', () => {
  it('removes the file prefix, types each entry and sorts by key in code-unit order', async () => {
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
  it('keeps 50 characters and cuts the 51st', async () => {
    expect(truncateValue('x'.repeat(50), false)).toBe('x'.repeat(50));
    expect(truncateValue(`${'x'.repeat(50)}y`, false)).toBe(`${'x'.repeat(50)}...`);
    expect(truncateValue(`${'x'.repeat(50)}y`, true)).toBe(`${'x'.repeat(50)}y`);
  });

  it('counts characters, not UTF-16 units, and never splits one', async () => {
    expect(truncateValue('😀'.repeat(50), false)).toBe('😀'.repeat(50));
    expect(truncateValue('😀'.repeat(51), false)).toBe(`${'😀'.repeat(50)}...`);
  });
});

describe('renderSecrets', () => {
  const entries = secretEntries(SEED);

  it('renders a plain table without colour', async () => {
    expect(await renderSecrets(entries, { format: 'table', full: false, color: false })).toBe(
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

  it('colours only the head, bold cyan, when asked', async () => {
    const output = await renderSecrets(entries.slice(0, 1), { format: 'table', full: false, color: true });
    expect(output.split('\n')[1]).toBe(
      '│ \u001b[1m\u001b[36mKey\u001b[39m\u001b[22m       │ \u001b[1m\u001b[36mType\u001b[39m\u001b[22m │ \u001b[1m\u001b[36mValue\u001b[39m\u001b[22m         │',
    );
    expect(output.split('\n').slice(2).join('\n')).not.toContain('\u001b');
  });

  it('renders the whole value with full', async () => {
    const output = await renderSecrets(entries, { format: 'plain', full: true, color: false });
    expect(output).toContain(`my_secret_file.dat\tfile\t${LONG}-tail\n`);
  });

  it('renders tab-separated rows without head or colour, one line per secret', async () => {
    expect(await renderSecrets(entries, { format: 'plain', full: false, color: true })).toBe(
      'MY_SECRET\tenv\trandom_string\n' +
        'MY_SECRET_DIC\tenv\t{"a_key": "a_value"}\n' +
        `my_secret_file.dat\tfile\t${LONG}...\n`,
    );
  });

  it('escapes tab, newline, CR and backslash so a row stays one line', async () => {
    const output = await renderSecrets([{ key: 'K', type: 'env', value: 'a\tb\nc\rd\\e' }], {
      format: 'plain',
      full: false,
      color: false,
    });
    expect(output).toBe('K\tenv\ta\\tb\\nc\\rd\\\\e\n');
  });

  it('renders stable JSON with whole values, also without full: a program cannot tell a cut value', async () => {
    expect(await renderSecrets(entries, { format: 'json', full: false, color: true })).toBe(
      `${JSON.stringify(
        [
          { key: 'MY_SECRET', type: 'env', value: 'random_string' },
          { key: 'MY_SECRET_DIC', type: 'env', value: '{"a_key": "a_value"}' },
          { key: 'my_secret_file.dat', type: 'file', value: `${LONG}-tail` },
        ],
        null,
        2,
      )}\n`,
    );
  });

  it('adds size and the time of the last update when the server described the secrets', async () => {
    const now = new Date('2026-11-27T12:00:00.000Z');
    const described = secretEntries({ A: 'x'.repeat(60), '___file___:f.dat': 'AAE=' }, [
      { key: 'A', size: 60, updatedAt: '2026-11-27T11:55:00.000Z' },
      { key: '___file___:f.dat', size: 2048, updatedAt: '2026-11-20T12:00:00.000Z' },
    ]);
    expect(
      (await renderSecrets(described, { format: 'table', full: false, color: false, now })).split('\n').slice(3, 5),
    ).toEqual([
      `│ A     │ env  │ 60 B   │ 5 minutes ago │ ${'x'.repeat(50)}... │`,
      `│ f.dat │ file │ 2.0 kB │ 7 days ago    │ AAE=${' '.repeat(49)} │`,
    ]);
    expect(await renderSecrets(described, { format: 'plain', full: false, color: false, now })).toBe(
      `A\tenv\t${'x'.repeat(50)}...\t60\t2026-11-27T11:55:00.000Z\nf.dat\tfile\tAAE=\t2048\t2026-11-20T12:00:00.000Z\n`,
    );
    expect(JSON.parse(await renderSecrets(described, { format: 'json', full: false, color: false, now }))).toEqual([
      { key: 'A', type: 'env', value: 'x'.repeat(60), size: 60, updatedAt: '2026-11-27T11:55:00.000Z' },
      { key: 'f.dat', type: 'file', value: 'AAE=', size: 2048, updatedAt: '2026-11-20T12:00:00.000Z' },
    ]);
    expect(relativeTime(new Date('2026-11-27T11:59:30.000Z'), now)).toBe('just now');
    expect(relativeTime(new Date('2026-11-26T11:00:00.000Z'), now)).toBe('yesterday');
    expect(relativeTime(new Date('2026-09-01T00:00:00.000Z'), now)).toBe('2026-09-01');
  });

  it('renders no secrets as an empty head-only table, no rows, or []', async () => {
    expect(await renderSecrets([], { format: 'table', full: false, color: false })).toBe(
      '┌─────┬──────┬───────┐\n│ Key │ Type │ Value │\n└─────┴──────┴───────┘\n',
    );
    expect(await renderSecrets([], { format: 'plain', full: false, color: false })).toBe('');
    expect(await renderSecrets([], { format: 'json', full: false, color: false })).toBe('[]\n');
  });
});

describe('renderSecrets at a terminal width', () => {
  const entries = secretEntries(SEED);
  const full = (width: number | undefined, format: 'table' | 'plain' | 'json' = 'table') =>
    renderSecrets(entries, { format, full: true, color: false, width });

  it('wraps the values within the width, between words where there are spaces, else anywhere', async () => {
    expect(await full(50)).toBe(
      [
        '┌────────────────────┬──────┬────────────────────┐',
        '│ Key                │ Type │ Value              │',
        '├────────────────────┼──────┼────────────────────┤',
        '│ MY_SECRET          │ env  │ random_string      │',
        '│ MY_SECRET_DIC      │ env  │ {"a_key":          │',
        '│                    │      │ "a_value"}         │',
        '│ my_secret_file.dat │ file │ H4sIABmjwWEAA+3TTU │',
        '│                    │      │ 7DMBAF4P2cwhdI6m4Q │',
        '│                    │      │ AtGMEULxKCrgSB-tai │',
        '│                    │      │ l                  │',
        '└────────────────────┴──────┴────────────────────┘',
        '',
      ].join('\n'),
    );
  });

  it('leaves a table that fits as it is, and wraps from one column less', async () => {
    const natural = await full(undefined);
    const naturalWidth = natural.indexOf('\n');
    expect(naturalWidth).toBe(87);
    expect(await full(naturalWidth)).toBe(natural);
    const narrower = (await full(naturalWidth - 1)).split('\n');
    expect(narrower.slice(5, 8)).toEqual([
      `│ my_secret_file.dat │ file │ ${LONG}-tai │`,
      '│                    │      │ l                                                      │',
      '└────────────────────┴──────┴────────────────────────────────────────────────────────┘',
    ]);
  });

  it('keeps each column as wide as its head on a terminal too narrow for the heads', async () => {
    expect((await full(10)).split('\n').slice(0, 5)).toEqual([
      '┌─────┬──────┬───────┐',
      '│ Key │ Type │ Value │',
      '├─────┼──────┼───────┤',
      '│ MY_ │ env  │ rando │',
      '│ SEC │      │ m_str │',
    ]);
  });

  const width = (line: string) => stringWidth(line);
  const long = secretEntries({ A_VERY_LONG_SECRET_NAME_THAT_GOES_ON_AND_ON: 'v'.repeat(80), '___file___:f.dat': 'x' });

  it.each([40, 60, 200])('fits %i columns, wrapping a long key as well as the value', async (columns) => {
    const table = await renderSecrets(long, { format: 'table', full: true, color: true, width: columns });
    const lines = table.trimEnd().split('\n');
    for (const line of lines) expect(width(line)).toBeLessThanOrEqual(columns);
    // Every character is still there, in order, once the borders and padding are taken away.
    const cellText = (column: number) =>
      lines
        .slice(3, -1)
        .map((line) => line.split('│')[column]?.trim() ?? '')
        .join('');
    expect(cellText(1)).toBe('A_VERY_LONG_SECRET_NAME_THAT_GOES_ON_AND_ONf.dat');
    expect(cellText(3)).toBe(`${'v'.repeat(80)}x`);
  });

  it('never splits the escape sequences of a coloured head', async () => {
    for (const columns of [40, 41, 50, 60]) {
      const table = await renderSecrets(long, { format: 'table', full: true, color: true, width: columns });
      const head = table.split('\n')[1] ?? '';
      expect(head).toMatch(
        /^│ \u001b\[1m\u001b\[36mKey\u001b\[39m\u001b\[22m +│ \u001b\[1m\u001b\[36mType\u001b\[39m\u001b\[22m │ \u001b\[1m\u001b\[36mValue\u001b\[39m\u001b\[22m +│$/,
      );
      expect(table).not.toMatch(/\[3\dm(?!\u001b|Key|Type|Value)/);
    }
  });

  it('keeps CJK and emoji whole, measured as two columns each', async () => {
    const value = '秘密のパスワード🔑🐼ok';
    const table = await renderSecrets(secretEntries({ K: value }), {
      format: 'table',
      full: true,
      color: false,
      width: 24,
    });
    const lines = table.trimEnd().split('\n');
    for (const line of lines) expect(width(line)).toBeLessThanOrEqual(24);
    expect(
      lines
        .slice(3, -1)
        .map((line) => line.split('│')[3]?.trim())
        .join(''),
    ).toBe(value);
  });

  it('never wraps plain rows or JSON', async () => {
    expect(await full(20, 'plain')).toBe(await full(undefined, 'plain'));
    expect(await full(20, 'json')).toBe(await full(undefined, 'json'));
    expect(await full(20, 'plain')).toContain(`my_secret_file.dat\tfile\t${LONG}-tail\n`);
  });
});

describe('renderRows', () => {
  it('renders any head and rows in the three formats', async () => {
    const rows = [['1', 'queued']];
    expect(await renderRows(['Id', 'State'], rows, { format: 'plain', color: false })).toBe('1\tqueued\n');
    expect(await renderRows(['Id', 'State'], rows, { format: 'json', color: false })).toBe(
      '[\n  {\n    "Id": "1",\n    "State": "queued"\n  }\n]\n',
    );
    expect(await renderRows(['Id', 'State'], rows, { format: 'table', color: false })).toBe(
      '┌────┬────────┐\n│ Id │ State  │\n├────┼────────┤\n│ 1  │ queued │\n└────┴────────┘\n',
    );
  });
});

describe('renderRows cutting its last column', () => {
  const rows = [
    ['1', 'echo a long command line that does not fit'],
    ['22', 'short'],
  ];
  const render = (width: number | undefined) =>
    renderRows(['Id', 'Exec'], rows, { format: 'table', color: false, width, overflow: 'cut' });

  it('cuts the last cells to one line ending in ... within the width', async () => {
    expect(await render(24)).toBe(
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

  it('leaves a table that fits, or a terminal that does not say its width, as it is', async () => {
    expect(await render(undefined)).toContain('│ 1  │ echo a long command line that does not fit │');
    expect(await render(200)).toBe(await render(undefined));
  });
});
