import { FILE_PREFIX, LIST_TRUNCATE_AT } from '@panda-secrets/protocol';

/** One secret as the list view shows it. */
export interface SecretEntry {
  /** The name without the `___file___:` prefix. */
  key: string;
  type: 'env' | 'file';
  value: string;
}

function compareEntries(a: SecretEntry, b: SecretEntry): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

/**
 * The list view of the secrets `getSecrets` returns: file secrets recognised by their wire prefix,
 * which is removed, sorted by key (by code unit, so the order does not depend on the locale).
 *
 * @example
 * secretEntries({ B: 'x', '___file___:a.dat': 'AAE=' })
 * // [{ key: 'B', type: 'env', value: 'x' }, { key: 'a.dat', type: 'file', value: 'AAE=' }]
 */
export function secretEntries(secrets: Record<string, string>): SecretEntry[] {
  return Object.entries(secrets)
    .map(([key, value]): SecretEntry =>
      key.startsWith(FILE_PREFIX)
        ? { key: key.slice(FILE_PREFIX.length), type: 'file', value }
        : { key, type: 'env', value },
    )
    .sort(compareEntries);
}

/**
 * A value as listings show it: unless `full`, one longer than 50 characters (code points, so a
 * character is never cut in half) becomes its first 50 characters and `...`.
 *
 * @example
 * truncateValue('x'.repeat(60), false) // 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'
 */
export function truncateValue(value: string, full: boolean): string {
  // A string of at most 50 code units has at most 50 code points: the common case costs nothing.
  if (full || value.length <= LIST_TRUNCATE_AT) return value;
  let kept = '';
  let count = 0;
  for (const char of value) {
    if (count === LIST_TRUNCATE_AT) return `${kept}...`;
    kept += char;
    count += 1;
  }
  return value;
}
