import { describe, expect, it } from '@jest/globals';
import { parseTokenResponse } from './cache.js';

describe('parseTokenResponse', () => {
  it('says a damaged cache is not JSON without keeping the parser error, which quotes the tokens', () => {
    let thrown: unknown;
    try {
      parseTokenResponse('{"id_token": REFRESH-SECRET}', 'the saved sign-in /home/x/.pathena/.token');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: 'CONFIG',
      message: 'the saved sign-in /home/x/.pathena/.token is not JSON',
    });
    expect((thrown as Error).cause).toBeUndefined();
  });
});
