/** The largest log chunk sent in one update: well below the server's limit of 1 MiB characters. */
const MAX_LOG_CHUNK = 256 * 1024;
/** How often a running job's new output is sent, by default. */
export const LOG_INTERVAL_MS = 1000;
/** How much unsent log is kept while the server does not take it: the rest is dropped, with a note. */
export const MAX_UNSENT_LOG = 1024 * 1024;

export interface JobLogOptions {
  /** Sends one chunk of (already masked) log; the server appends it to the job's log. */
  send(chunk: string): Promise<void>;
  /**
   * Told when a send fails; the chunk is kept. Returns whether to try again (at the next interval)
   * or to stop sending until close, for an error that another try would not mend.
   */
  onSendError(error: unknown): 'retry' | 'stop';
  intervalMs?: number;
  maxChunk?: number;
  /** How much unsent text to keep once a send has failed; default MAX_UNSENT_LOG. */
  maxUnsent?: number;
}

/** The job's log on its way to the server, sent in batches while the job runs. */
export interface JobLog {
  add(text: string): void;
  /**
   * Stops the batching and returns what is still unsent, in pieces of at most the chunk size
   * (at least one, maybe empty): the last goes with the job's final state.
   */
  close(): Promise<string[]>;
}

/** The start of `text`, at most `max` code units, not ending between the halves of a surrogate pair. */
function headOf(text: string, max: number): string {
  if (max <= 0) return '';
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/**
 * Cuts `text` into pieces of at most `max` code units (at least 2), never between the halves of a
 * surrogate pair.
 */
export function splitChunks(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const piece = headOf(rest, max);
    pieces.push(piece);
    rest = rest.slice(piece.length);
  }
  pieces.push(rest);
  return pieces;
}

function droppedNote(count: number): string {
  return `\npanda-pilot: ${count} characters of the job's output were dropped here: the server did not take the log\n`;
}

/**
 * Batches a job's log: text is sent every `intervalMs`, or at once when a chunk's worth has
 * gathered, one send at a time so the server appends the chunks in order. While sends fail, at most
 * `maxUnsent` characters wait; what comes beyond is dropped and counted in one note where it was.
 */
export function createJobLog(options: JobLogOptions): JobLog {
  const maxChunk = options.maxChunk ?? MAX_LOG_CHUNK;
  const maxUnsent = options.maxUnsent ?? MAX_UNSENT_LOG;
  let buffered = '';
  let sending: Promise<void> | undefined;
  /** Since the last send failed: no new send until the next interval, and unsent text is capped. */
  let failing = false;
  /** After an error that another try would not mend: nothing more is sent until close. */
  let stopped = false;
  let dropped = 0;

  const flush = (): void => {
    if (sending !== undefined || stopped) return;
    sending = (async () => {
      while (buffered !== '') {
        const [chunk = ''] = splitChunks(buffered, maxChunk);
        buffered = buffered.slice(chunk.length);
        try {
          await options.send(chunk);
          failing = false;
        } catch (error) {
          buffered = chunk + buffered;
          failing = true;
          stopped = options.onSendError(error) === 'stop';
          return;
        }
      }
    })().finally(() => {
      sending = undefined;
    });
  };
  const timer = setInterval(flush, options.intervalMs ?? LOG_INTERVAL_MS);

  return {
    add(text) {
      if (failing && buffered.length + text.length > maxUnsent) {
        const kept = headOf(text, maxUnsent - buffered.length);
        buffered += kept;
        dropped += text.length - kept.length;
        return;
      }
      if (dropped > 0) {
        buffered += droppedNote(dropped);
        dropped = 0;
      }
      buffered += text;
      if (buffered.length >= maxChunk && !failing) flush();
    },
    async close() {
      clearInterval(timer);
      await sending;
      const rest = buffered + (dropped > 0 ? droppedNote(dropped) : '');
      buffered = '';
      dropped = 0;
      return splitChunks(rest, maxChunk);
    },
  };
}
