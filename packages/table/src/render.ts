import { Chalk } from 'chalk';
import Table from 'cli-table3';
import { truncateValue } from './secrets.js';
import type { SecretEntry } from './secrets.js';

/** `table` for people at a terminal, `plain` tab-separated rows for pipes, `json` for programs. */
export type OutputFormat = 'table' | 'plain' | 'json';

export interface RenderOptions {
  format: OutputFormat;
  /** Colour the table head. Decided by the caller (TTY, NO_COLOR): this package never looks. */
  color: boolean;
  /**
   * The terminal's width in columns, for `table`: a table wider than this wraps the cells of its
   * last column to fit, that column never narrower than its head. Plain rows and JSON are never
   * wrapped, as pipes and programs read whole lines.
   */
  width?: number;
  /**
   * What a table too wide for `width` does with its last column's cells: `wrap` them over several
   * lines (the default), or `cut` them to one line ending in `...`.
   */
  overflow?: 'wrap' | 'cut';
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Keeps a cell on one line and one column: backslash, tab, newline and CR become escapes. */
function escapeCell(cell: string): string {
  return cell.replace(/[\\\t\n\r]/g, (char) => ESCAPES[char] ?? char);
}

/** A cell cut to `width` characters, its end replaced by `...` when it was longer. */
function cutCell(cell: string, width: number): string {
  return cell.length <= width ? cell : `${cell.slice(0, Math.max(width - 3, 0))}...`;
}

function renderTable(head: string[], rows: string[][], options: RenderOptions): string {
  const { color, width } = options;
  const chalk = new Chalk({ level: color ? 1 : 0 });
  const render = (layout: Table.TableConstructorOptions = {}, cells: string[][] = rows.map((row) => row.map(escapeCell))): string => {
    const table = new Table({
      head: head.map((title) => chalk.bold.cyan(title)),
      // Empty style lists: cli-table3 would otherwise colour through a library that reads the environment.
      style: { head: [], border: [], compact: true },
      ...layout,
    });
    table.push(...cells);
    return `${table.toString()}\n`;
  };
  const natural = render();
  // The top border has one character per screen column.
  const top = natural.slice(0, natural.indexOf('\n'));
  if (width === undefined || top.length <= width) return natural;
  // The last column starts after the last '┬' (after '┌' when it is the only one) and ends before
  // '┐'. The other columns keep their widths; its cells wrap anywhere, as base64 has no spaces.
  const before = Math.max(top.lastIndexOf('┬'), 0) + 1;
  const last = Math.max(width - before - 1, (head.at(-1) ?? '').length + 2);
  if (options.overflow === 'cut') {
    // The cell's text is its column's width less the two spaces of padding.
    return render({}, rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cutCell(escapeCell(cell), last - 2) : escapeCell(cell)))));
  }
  return render({ colWidths: [...head.slice(0, -1).map(() => null), last], wordWrap: true, wrapOnWordBoundary: false });
}

/**
 * Renders rows under a head: a cli-table3 table, tab-separated lines without the head (cells
 * escaped so each row stays one line), or a JSON array of objects keyed by the head. Output ends
 * with a newline unless it is empty.
 *
 * @example
 * renderRows(['Id', 'State'], [['1', 'queued']], { format: 'plain', color: false }) // '1\tqueued\n'
 */
export function renderRows(head: string[], rows: string[][], options: RenderOptions): string {
  switch (options.format) {
    case 'table':
      return renderTable(head, rows, options);
    case 'plain':
      return rows.map((row) => `${row.map(escapeCell).join('\t')}\n`).join('');
    case 'json':
      return `${JSON.stringify(
        rows.map((row) => Object.fromEntries(head.map((title, index) => [title, row[index] ?? '']))),
        null,
        2,
      )}\n`;
  }
}

/**
 * Renders the secrets list: columns Key, Type and Value, values truncated unless `full`. The JSON
 * form is an array of `{key, type, value}`.
 *
 * @example
 * renderSecrets(secretEntries(await client.getSecrets()), { format: 'table', full: false, color: true })
 */
export function renderSecrets(entries: SecretEntry[], options: RenderOptions & { full: boolean }): string {
  const head = options.format === 'json' ? ['key', 'type', 'value'] : ['Key', 'Type', 'Value'];
  const rows = entries.map((entry) => [entry.key, entry.type, truncateValue(entry.value, options.full)]);
  return renderRows(head, rows, options);
}
