/** The number of single-character edits (insert, delete, replace, swap of neighbours) from a to b. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const row = rows[i] as number[];
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((rows[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The candidate nearest to `word` when it is close enough to be a slip of the fingers (at most a
 * third of its letters off, and at most 3), else undefined. `-` and `_` count as the same.
 *
 * @example
 * closestWord('list-secret', ['list-secrets', 'set-secret']) // 'list-secrets'
 */
export function closestWord(word: string, candidates: readonly string[]): string | undefined {
  const normal = (text: string) => text.toLowerCase().replace(/_/g, '-');
  let best: { candidate: string; distance: number; exact: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(normal(word), normal(candidate));
    // Of two equally near, the one spelt with the same separators wins.
    const exact = editDistance(word, candidate);
    if (best === undefined || distance < best.distance || (distance === best.distance && exact < best.exact))
      best = { candidate, distance, exact };
  }
  if (best === undefined) return undefined;
  return best.distance <= Math.min(3, Math.ceil(word.length / 3)) ? best.candidate : undefined;
}
