import { pino } from 'pino';
import type { Bindings, Logger } from 'pino';

/** How the pilot writes its log: `text` lines for people (the default), or pino's JSON lines. */
export type LogFormat = 'text' | 'json';

/** Masks a whole text: a job's secrets, in every form the masker knows, become `***`. */
export type Redact = (text: string) => string;

/** The pilot's loggers; see createPilotLog. */
export interface PilotLog {
  /** The pilot's own lines: job ids, key names, states and exit codes only. */
  log: Logger;
  /**
   * A logger for one job: `bindings` join each of its lines, and each whole line (its message and
   * every field, bindings and error stacks included) passes `redact` before it is written.
   */
  jobLog(bindings: Bindings, redact: Redact): Logger;
}

export interface PilotLogOptions {
  /** Where the lines go, each written whole and at once: the pilot's stderr. */
  stream: { write(text: string): unknown };
  now(): Date;
  format: LogFormat;
}

const WARN_LEVEL = pino.levels.values.warn!;

/** One of pino's JSON lines as `2026-01-02T03:04:05.000Z panda-pilot: [warning: ]MESSAGE`. */
function textLine(json: string): string {
  const { time, level, msg } = JSON.parse(json) as { time: string; level: number; msg?: string };
  return `${time} panda-pilot: ${level >= WARN_LEVEL ? 'warning: ' : ''}${msg ?? ''}\n`;
}

/**
 * The pilot's log through pino, written synchronously to `stream`: as text by default, the format
 * the pilot always had, or as pino's JSON lines (with pid, hostname and, for a job, its id). A
 * job's lines are rendered first and masked last, so that no form of a secret in any field (as
 * written, or JSON-escaped in a JSON line) reaches the stream.
 *
 * @example
 * const { log, jobLog } = createPilotLog({ stream: process.stderr, now: () => new Date(), format: 'text' });
 * log.warn('payloads run as root'); // 2026-01-02T03:04:05.000Z panda-pilot: warning: payloads run as root
 * jobLog({ job: id }, redact).info(`job ${id}: acquired`);
 */
export function createPilotLog(options: PilotLogOptions): PilotLog {
  const render = options.format === 'json' ? (line: string) => line : textLine;
  const logger = (redact?: Redact): Logger =>
    pino(
      { name: 'panda-pilot', timestamp: () => `,"time":"${options.now().toISOString()}"` },
      { write: (line) => options.stream.write(redact === undefined ? render(line) : redact(render(line))) },
    );
  return {
    log: logger(),
    // A pino instance of its own per job (its destination is where the masking happens), made once a job.
    jobLog: (bindings, redact) => logger(redact).child(bindings),
  };
}
