import { describe, expect, it } from '@jest/globals';
import { FakeClient, runPbook } from './fakes.js';

describe('the fake server', () => {
  it('fails verification when a call the test expected was not made, and passes once it is', async () => {
    const client = new FakeClient().expectCalls('set K', 'delete K');
    expect((await runPbook(['set_secret', 'K', 'value'], { client })).code).toBe(0);
    expect(() => client.verify()).toThrow('the fake server: expected "delete K", never made; made: ["set K"]');
    expect((await runPbook(['delete_secret', 'K'], { client })).code).toBe(0);
    expect(() => client.verify()).not.toThrow();
  });

  it('counts task calls too', async () => {
    const client = new FakeClient();
    client.addTask('true', [{ state: 'running' }]);
    client.expectCalls('kill 1');
    expect(() => client.verify()).toThrow('the fake server: expected "kill 1", never made; made: []');
    expect((await runPbook(['kill-task', '1'], { client })).code).toBe(0);
    expect(client.taskCalls).toEqual(['kill 1']);
  });
});
