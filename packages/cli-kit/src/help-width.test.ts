import { describe, expect, it } from '@jest/globals';
import { EXIT_CODES_HELP, epilogue, wrapHelp } from './index.js';

describe('wrapHelp', () => {
  const help = [
    'Options:',
    "      --exec        the payload, run as bash -c CMD in the job's working directory  [string] [required]",
    '  -v, --verbose     show stack traces of errors  [boolean] [default: false]',
    '',
    'Environment: PANDA_URL_SSL (server), PANDA_AUTH_ID_TOKEN (the token), OIDC_AUTH_TOKEN_FILE',
  ].join('\n');

  it.each([40, 60, 200])('keeps every line within %i columns and every word whole', (width) => {
    const wrapped = wrapHelp(help, width);
    for (const line of wrapped.split('\n')) expect(line.length).toBeLessThanOrEqual(width);
    const words = (text: string) => text.split(/\s+/).filter(Boolean);
    expect(words(wrapped)).toEqual(words(help));
  });

  it('goes on under the meaning column', () => {
    expect(
      wrapHelp("      --exec        the payload, run as bash -c CMD in the job's working directory  [string]", 60),
    ).toBe(
      [
        '      --exec        the payload, run as bash -c CMD in the',
        "                    job's working directory [string]",
      ].join('\n'),
    );
  });

  it('goes on under the row name when a word is wider than the meaning column', () => {
    expect(wrapHelp('      --server      panda-server URL (else http://127.0.0.1:25080)  [string]', 40)).toBe(
      ['      --server', '      panda-server URL (else', '      http://127.0.0.1:25080) [string]'].join('\n'),
    );
  });

  it.each([
    40, 60, 95, 120,
  ])('fills the paragraphs of the epilogue to %i columns, breaking only between words', (width) => {
    const text = epilogue({
      about: ['Runs jobs.', 'Secrets reach the job as environment variables.'],
      environmentEnd: ', PANDA_CONFIG_ROOT (the saved sign-in), NO_COLOR.',
      exitCodes: [`${EXIT_CODES_HELP};`, '130 when Ctrl-C stops the waiting.'],
    });
    const wrapped = wrapHelp(text, width).split('\n');
    for (const line of wrapped) expect(line.length).toBeLessThanOrEqual(width);
    // Each paragraph starts a line; within one, a line ends only where the next word would not fit.
    const starts = /^(Runs jobs|Environment:|Exit codes:)/;
    wrapped.forEach((line, at) => {
      const next = wrapped[at + 1];
      if (next === undefined || starts.test(next)) return;
      expect({ line, next, filled: line.length + 1 + (next.split(' ')[0]?.length ?? 0) > width }).toMatchObject({
        filled: true,
      });
    });
    expect(wrapped.filter((line) => starts.test(line))).toHaveLength(3);
  });
});
