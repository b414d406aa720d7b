/** The largest log chunk sent in one update: well below the server's limit of 1 MiB characters. */
export const MAX_LOG_CHUNK = 256 * 1024;
export const DEFAULT_LOG_INTERVAL_MS = 1000;

export interface JobLogOptions {
  /** Sends one chunk of (already masked) log; the server appends it to the job's log. */
  send(chunk: string): Promise<void>;
  /** Told when a send fails; the chunk is kept and sent again with the next one. */
  onSendError(error: unknown): void;
  intervalMs?: number;
  maxChunk?: number;
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

/** Cuts `text` into pieces of at most `max` code units, never between the halves of a surrogate pair. */
export function splitChunks(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const code = rest.charCodeAt(max - 1);
    const cut = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Batches a job's log: text is sent every `intervalMs`, or at once when a chunk's worth has
 * gathered, one send at a time so the server appends the chunks in order.
 */
export function createJobLog(options: JobLogOptions): JobLog {
  const maxChunk = options.maxChunk ?? MAX_LOG_CHUNK;
  let buffered = '';
  let sending: Promise<void> = Promise.resolve();

  const flush = (): void => {
    sending = sending.then(async () => {
      while (buffered !== '') {
        const [chunk = ''] = splitChunks(buffered, maxChunk);
        buffered = buffered.slice(chunk.length);
        try {
          await options.send(chunk);
        } catch (error) {
          buffered = chunk + buffered;
          options.onSendError(error);
          return;
        }
      }
    });
  };
  const timer = setInterval(flush, options.intervalMs ?? DEFAULT_LOG_INTERVAL_MS);

  return {
    add(text) {
      buffered += text;
      if (buffered.length >= maxChunk) flush();
    },
    async close() {
      clearInterval(timer);
      await sending;
      const rest = buffered;
      buffered = '';
      return splitChunks(rest, maxChunk);
    },
  };
}
