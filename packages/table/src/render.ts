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
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Keeps a cell on one line and one column: backslash, tab, newline and CR become escapes. */
function escapeCell(cell: string): string {
  return cell.replace(/[\\\t\n\r]/g, (char) => ESCAPES[char] ?? char);
}

function renderTable(head: string[], rows: string[][], color: boolean): string {
  const chalk = new Chalk({ level: color ? 1 : 0 });
  // Empty style lists: cli-table3 would otherwise colour through a library that reads the environment.
  const table = new Table({
    head: head.map((title) => chalk.bold.cyan(title)),
    style: { head: [], border: [], compact: true },
  });
  table.push(...rows.map((row) => row.map(escapeCell)));
  return `${table.toString()}\n`;
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
      return renderTable(head, rows, options.color);
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
