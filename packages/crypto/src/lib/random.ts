import { randomFillSync } from 'node:crypto';

/** Bytes drawn from the CSPRNG at a time: one call per block rather than one per IV or key. */
const BLOCK_BYTES = 4096;

let block = Buffer.alloc(0);
let used = 0;

/**
 * `size` fresh random bytes from the operating system's CSPRNG, taken from a block drawn ahead
 * (as node:crypto's randomUUID does): each byte is handed out once. At most one block at a time.
 */
export function randomBytesFromBlock(size: number): Buffer {
  if (size > BLOCK_BYTES) throw new RangeError(`at most ${BLOCK_BYTES} random bytes at a time`);
  if (used + size > block.length) {
    block = randomFillSync(Buffer.allocUnsafeSlow(BLOCK_BYTES));
    used = 0;
  }
  const bytes = block.subarray(used, used + size);
  used += size;
  return bytes;
}
