import { describe, expect, it } from '@jest/globals';
import { EXIT_CODES_HELP, epilogue } from './index.js';

describe('epilogue', () => {
  it('puts the about paragraph first, ends the environment sentence as asked, then the exit codes, a paragraph a line', () => {
    expect(
      epilogue({
        about: ['Runs jobs.'],
        environmentEnd: ', NO_COLOR.',
        exitCodes: [`${EXIT_CODES_HELP};`, "with --wait the jobs' status."],
      }),
    ).toBe(
      [
        'Runs jobs.',
        'Environment: PANDA_URL_SSL (server), PANDA_AUTH_ID_TOKEN (the token), OIDC_AUTH_TOKEN_FILE (a file holding the token), PANDA_AUTH_VO (VO), PANDA_CA_FILE (a private CA), NO_COLOR.',
        "Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 authentication or permission, 5 rejected input, 6 conflict (the task's state does not allow it), 7 rate limited; with --wait the jobs' status.",
      ].join('\n'),
    );
  });

  it('starts with the environment when there is nothing about the program', () => {
    expect(epilogue({ environmentEnd: '.', exitCodes: ['Exit codes: 0 ok.'] }).split('\n')[0]).toMatch(
      /^Environment: /,
    );
  });
});
