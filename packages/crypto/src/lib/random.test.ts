import { describe, expect, it } from '@jest/globals';
import { randomBytesFromBlock } from './random.js';

describe('random bytes drawn a block at a time', () => {
  it('hands out each byte once, also across blocks', () => {
    // 1,000 draws of 44 bytes span about eleven 4 KiB blocks.
    const draws = Array.from({ length: 1000 }, () => randomBytesFromBlock(44));
    expect(draws.every((bytes) => bytes.length === 44)).toBe(true);
    expect(new Set(draws.map((bytes) => bytes.toString('hex'))).size).toBe(1000);
    const next = randomBytesFromBlock(12);
    const copy = Buffer.from(next);
    for (const bytes of draws) bytes.fill(0);
    expect(next).toEqual(copy);
  });

  it('refuses more than a block at once', () => {
    expect(() => randomBytesFromBlock(4097)).toThrow('at most 4096 random bytes at a time');
  });
});
