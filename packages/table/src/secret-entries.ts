import { FILE_PREFIX, LIST_TRUNCATE_AT } from '@panda-secrets/protocol';
import type { SecretMetadata } from '@panda-secrets/protocol';

/** One secret as the list view shows it. */
export interface SecretEntry {
  /** The name without the `___file___:` prefix. */
  key: string;
  type: 'env' | 'file';
  value: string;
  /** Bytes of the value as UTF-8, or of the file, when the server said (secrets/metadata). */
  size?: number;
  /** When it was last set, when the server said. */
  updatedAt?: Date;
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
export function secretEntries(
  secrets: Record<string, string>,
  metadata: readonly SecretMetadata[] = [],
): SecretEntry[] {
  const described = new Map(metadata.map((entry) => [entry.key, entry]));
  return Object.entries(secrets)
    .map(([key, value]): SecretEntry => {
      const about = described.get(key);
      const extra = about === undefined ? {} : { size: about.size, updatedAt: new Date(about.updatedAt) };
      return key.startsWith(FILE_PREFIX)
        ? { key: key.slice(FILE_PREFIX.length), type: 'file', value, ...extra }
        : { key, type: 'env', value, ...extra };
    })
    .sort(compareEntries);
}

/** Made on first use: loading ICU's relative-time data costs milliseconds that rows and JSON never need. */
let relativeFormat: Intl.RelativeTimeFormat | undefined;
const UNITS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/**
 * When something happened, as people read it on a terminal: "just now", "5 minutes ago",
 * "yesterday", "3 days ago"; after 30 days the date itself.
 *
 * @example
 * relativeTime(new Date('2026-01-01T10:00:00Z'), new Date('2026-01-01T12:30:00Z')) // '2 hours ago'
 */
export function relativeTime(at: Date, now: Date): string {
  const ago = now.getTime() - at.getTime();
  if (ago > 30 * 86_400_000 || ago < -60_000) return at.toISOString().slice(0, 10);
  relativeFormat ??= new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, ms] of UNITS) if (ago >= ms) return relativeFormat.format(-Math.floor(ago / ms), unit);
  return 'just now';
}

/**
 * A size as people read it: bytes up to 1000, then kB and MB with one decimal (1 kB = 1000 bytes,
 * as the limits are stated).
 *
 * @example
 * humanSize(2048) // '2.0 kB'
 */
export function humanSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
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
