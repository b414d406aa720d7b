import { Chalk } from 'chalk';
import Table from 'cli-table3';
import stringWidth from 'string-width';
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

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * A cell's text cut into lines of at most `width` screen columns: between words where it has
 * spaces, else between characters as the screen shows them (a CJK character or an emoji is two
 * columns and never cut in two), as base64 has no spaces.
 */
function wrapCell(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  let used = 0;
  const breakLine = () => {
    lines.push(line.trimEnd());
    line = '';
    used = 0;
  };
  for (const word of text.split(/(?<= )/)) {
    if (used > 0 && used + stringWidth(word.trimEnd()) > width) breakLine();
    for (const { segment } of graphemes.segment(word)) {
      const size = stringWidth(segment);
      if (used + size > width && line !== '' && segment !== ' ') breakLine();
      if (segment === ' ' && used === 0 && lines.length > 0) continue;
      line += segment;
      used += size;
    }
  }
  lines.push(line.trimEnd());
  return lines;
}

/**
 * The widths of the columns, natural when the table fits `available` columns of text; else the
 * widest are narrowed to one cap, found by bisection, each column kept at least as wide as its
 * head (so a head, coloured or not, is never cut). With `lastFirst` (cut cells) the last column
 * alone narrows first, as far as its head allows.
 */
function fitWidths(
  natural: readonly number[],
  minimum: readonly number[],
  available: number,
  lastFirst = false,
): number[] {
  if (lastFirst) {
    // The last column gives way alone while it can keep its head's width; the others stay whole.
    const last = natural.length - 1;
    const others = natural.slice(0, last).reduce((sum, width) => sum + width, 0);
    const rest = available - others;
    if (rest >= (minimum[last] ?? 1)) return [...natural.slice(0, last), Math.min(natural[last] ?? rest, rest)];
  }
  const capped = (cap: number) => natural.map((width, index) => Math.min(width, Math.max(cap, minimum[index] ?? 1)));
  const total = (widths: readonly number[]) => widths.reduce((sum, width) => sum + width, 0);
  if (total(natural) <= available) return [...natural];
  let low = 1;
  let high = Math.max(...natural);
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (total(capped(middle)) <= available) low = middle;
    else high = middle - 1;
  }
  return capped(low);
}

/** A cell cut to one line of at most `width` screen columns, its end replaced by `...` when it was longer. */
function cutCell(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  let line = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = stringWidth(segment);
    if (used + size > Math.max(width - 3, 0)) break;
    line += segment;
    used += size;
  }
  return `${line}...`;
}

function renderTable(head: string[], rows: string[][], options: RenderOptions): string {
  const { color, width } = options;
  const chalk = new Chalk({ level: color ? 1 : 0 });
  const cells = rows.map((row) => head.map((_, index) => escapeCell(row[index] ?? '')));
  const minimum = head.map((title) => stringWidth(title));
  const natural = head.map((_, index) =>
    Math.max(minimum[index] ?? 0, ...cells.map((row) => stringWidth(row[index] ?? ''))),
  );
  // Each column has one space of padding on either side, and there are columns + 1 borders.
  const chrome = head.length * 3 + 1;
  const widths =
    width === undefined ? natural : fitWidths(natural, minimum, width - chrome, options.overflow === 'cut');
  const table = new Table({
    // The head is coloured after the widths are set: its escapes are never measured or cut.
    head: head.map((title) => chalk.bold.cyan(title)),
    colWidths: widths.map((columnWidth) => columnWidth + 2),
    // Empty style lists: cli-table3 would otherwise colour through a library that reads the environment.
    style: { head: [], border: [], compact: true },
  });
  const last = head.length - 1;
  // `cut` keeps each row of the last column on one line; every other cell wraps within its width.
  const fit = (cell: string, index: number): string =>
    options.overflow === 'cut' && index === last
      ? cutCell(cell, widths[index] ?? 1)
      : wrapCell(cell, widths[index] ?? 1).join('\n');
  table.push(...cells.map((row) => row.map(fit)));
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
 * renderSecrets(secretEntries(await client.getSecrets()), { format: 'table', full: false, color: true })
 */
export function renderSecrets(entries: SecretEntry[], options: RenderOptions & { full: boolean; now?: Date }): string {
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
