import { createPilotLog } from '../logger.js';
import type { PilotLog } from '../logger.js';

/** The pilot's real log, writing its JSON lines to memory: `written` keeps each line whole, `lines` its message. */
export function memoryLog(): PilotLog & { lines: string[]; written: string[] } {
  const lines: string[] = [];
  const written: string[] = [];
  const write = (line: string): void => {
    written.push(line);
    lines.push((JSON.parse(line) as { msg: string }).msg);
  };
  return { ...createPilotLog({ stream: { write }, now: () => new Date(), format: 'json' }), lines, written };
}
