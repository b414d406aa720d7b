import { describe, expect, it } from '@jest/globals';
import { ExpectedCalls, Script, verifyFakes, verifyFakesAfterEachTest } from './verify.js';

verifyFakesAfterEachTest();

describe('Script', () => {
  it('hands out its items in order, then undefined', () => {
    const answers = new Script('prompt answers', ['y', 'n']);
    expect([answers.next(), answers.next(), answers.next()]).toEqual(['y', 'n', undefined]);
    expect(() => answers.verify()).not.toThrow();
  });

  it('fails verification with the items never used, and so fails the test after it', () => {
    const answers = new Script('prompt answers', ['y', 'n', 'maybe']);
    answers.next();
    const failures = new Script('acquire failures', [new Error('server away')]);
    expect(() => answers.verify()).toThrow('prompt answers: 2 scripted but never used: "n", "maybe"');
    // What runs after each test: it names every fake that failed, then forgets them.
    expect(() => verifyFakes()).toThrow(
      'prompt answers: 2 scripted but never used: "n", "maybe"\nacquire failures: 1 scripted but never used: server away',
    );
    expect(() => verifyFakes()).not.toThrow();
    expect(failures.next()).toEqual(new Error('server away'));
  });
});

describe('ExpectedCalls', () => {
  it('fails verification while an expected call was not made, as often as it is expected', () => {
    const made: string[] = ['get', 'set A'];
    const calls = new ExpectedCalls('the fake server', () => made);
    calls.expect('set A', 'set B', 'get', 'get');
    expect(() => calls.verify()).toThrow('the fake server: expected "set B", "get", never made; made: ["get","set A"]');
    expect(() => verifyFakes()).toThrow('the fake server: expected "set B", "get", never made');
    made.push('set B', 'get');
    expect(() => calls.verify()).not.toThrow();
  });

  it('passes a test whose expected calls were made', () => {
    const made = ['kill 1', 'list'];
    new ExpectedCalls('the fake server', () => made).expect('list', 'kill 1');
    // verifyFakes runs after this test and finds nothing missing.
  });
});
