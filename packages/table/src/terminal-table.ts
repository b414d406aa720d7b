import { Chalk } from 'chalk';
import Table from 'cli-table3';
import stringWidth from 'string-width';
import type { RenderOptions } from './render.js';

// The table people see at a terminal, in a module of its own: cli-table3, chalk, string-width and
// the grapheme segmenter cost tens of milliseconds to load, which piped rows and JSON never pay.

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

/** The table of `cells` (escaped already, one line and one column each) under `head`. */
export function renderTable(head: string[], cells: string[][], options: RenderOptions): string {
  const { color, width } = options;
  const chalk = new Chalk({ level: color ? 1 : 0 });
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
