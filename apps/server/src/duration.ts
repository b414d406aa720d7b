import { PandaError } from '@panda-secrets/protocol';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses a lifetime such as `90s`, `30m`, `1h`, `7d` or a plain number of seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new PandaError(
      'USAGE',
      `invalid duration ${JSON.stringify(text)}: use a positive number with s, m, h or d (for example 1h)`,
    );
  }
  return seconds;
}
