import { describe, expect, it } from '@jest/globals';
import { wrapHelp } from './index.js';

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
});
