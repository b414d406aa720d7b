import { humanSize, relativeTime, truncateValue } from './secret-entries.js';
import type { SecretEntry } from './secret-entries.js';

/** `table` for people at a terminal, `plain` tab-separated rows for pipes, `json` for programs. */
export type OutputFormat = 'table' | 'plain' | 'json';

export interface RenderOptions {
  format: OutputFormat;
  /** Colour the table head. Decided by the caller (TTY, NO_COLOR): this package never looks. */
  color: boolean;
  /**
   * The terminal's width in columns, for `table`: a table wider than this narrows its widest
   * columns (each never narrower than its head) and wraps their cells to fit, measured in screen
   * columns (CJK and emoji count two). Plain rows and JSON are never wrapped, as pipes and
   * programs read whole lines.
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

/**
 * Renders rows under a head: a cli-table3 table, tab-separated lines without the head (cells
 * escaped so each row stays one line), or a JSON array of objects keyed by the head. Output ends
 * with a newline unless it is empty. The table's code loads only when a table is rendered.
 *
 * @example
 * await renderRows(['Id', 'State'], [['1', 'queued']], { format: 'plain', color: false }) // '1\tqueued\n'
 */
export async function renderRows(head: string[], rows: string[][], options: RenderOptions): Promise<string> {
  switch (options.format) {
    case 'table': {
      const { renderTable } = await import('./terminal-table.js');
      return renderTable(
        head,
        rows.map((row) => head.map((_, index) => escapeCell(row[index] ?? ''))),
        options,
      );
    }
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

/** The narrowest terminal whose table shows Size and Updated. */
const METADATA_MIN_WIDTH = 60;

/**
 * Renders the secrets list: columns Key, Type and Value, and when the entries carry metadata,
 * Size and Updated (relative to `now` in a table, ISO 8601 in rows and JSON). Values are cut at
 * 50 characters in tables and rows unless `full`; JSON always carries them whole, since a
 * program cannot tell a cut value from a whole one. The JSON form is an array of
 * `{key, type, value}`, plus `size` and `updatedAt` with metadata.
 *
 * @example
 * await renderSecrets(secretEntries(await client.getSecrets()), { format: 'table', full: false, color: true })
 */
export async function renderSecrets(
  entries: SecretEntry[],
  options: RenderOptions & { full: boolean; now?: Date },
): Promise<string> {
  const withMetadata = entries.some((entry) => entry.updatedAt !== undefined);
  if (options.format === 'json') {
    const objects = entries.map(({ key, type, value, size, updatedAt }) => ({
      key,
      type,
      value,
      ...(withMetadata ? { size: size ?? null, updatedAt: updatedAt?.toISOString() ?? null } : {}),
    }));
    return `${JSON.stringify(objects, null, 2)}\n`;
  }
  const value = (entry: SecretEntry) => truncateValue(entry.value, options.full);
  if (!withMetadata)
    return renderRows(
      ['Key', 'Type', 'Value'],
      entries.map((entry) => [entry.key, entry.type, value(entry)]),
      options,
    );
  if (options.format === 'plain') {
    // Size and time go after the value, so scripts that cut the third field keep working.
    const rows = entries.map((entry) => [
      entry.key,
      entry.type,
      value(entry),
      String(entry.size ?? ''),
      entry.updatedAt?.toISOString() ?? '',
    ]);
    return renderRows(['Key', 'Type', 'Value', 'Size', 'Updated'], rows, options);
  }
  // Below 60 columns the value would be squeezed to a sliver: size and time give way to it.
  if (options.width !== undefined && options.width < METADATA_MIN_WIDTH) {
    return renderRows(
      ['Key', 'Type', 'Value'],
      entries.map((entry) => [entry.key, entry.type, value(entry)]),
      options,
    );
  }
  const now = options.now ?? new Date();
  const rows = entries.map((entry) => [
    entry.key,
    entry.type,
    entry.size === undefined ? '' : humanSize(entry.size),
    entry.updatedAt === undefined ? '' : relativeTime(entry.updatedAt, now),
    value(entry),
  ]);
  return renderRows(['Key', 'Type', 'Size', 'Updated', 'Value'], rows, options);
}
