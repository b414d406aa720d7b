import { describe, expect, it } from '@jest/globals';
import { hostname } from 'node:os';
import { jsonEscapedForms } from './mask-forms.js';
import { createMasker } from './mask.js';
import { createPilotLog } from './logger.js';
import type { LogFormat } from './logger.js';
import { redactor } from './redact.js';

const NOW = new Date('2026-01-02T03:04:05.000Z');
const SECRET = 'random_string-4f1e';
/** Quotes, a backslash, a newline, non-ASCII and DEL: its JSON-escaped form differs from it. */
const TRICKY = 'p"a\\s$(touch pwned)`id`\nzwei €uro 😀\x7f';

function pilotLog(format: LogFormat) {
  const written: string[] = [];
  const log = createPilotLog({ stream: { write: (text: string) => written.push(text) }, now: () => NOW, format });
  return { ...log, written };
}

/** Every form of the secrets a log line must not show: as written, each line, JSON-escaped, base64. */
const FORBIDDEN = [SECRET, TRICKY].flatMap((secret) => [
  secret,
  ...secret.split('\n'),
  ...jsonEscapedForms(secret),
  Buffer.from(secret).toString('base64'),
]);

/** Logs the secrets through a job's logger in every place a pino line has: bindings, message, fields, an error. */
function logSecrets(jobLog: ReturnType<typeof createPilotLog>['jobLog']): void {
  const redact = redactor(() => createMasker([SECRET, TRICKY]));
  const log = jobLog({ job: 'job-1', token: SECRET }, redact);
  log.info(
    {
      value: SECRET,
      tricky: TRICKY,
      nested: { deep: `x${SECRET}y`, list: [TRICKY, 7] },
      encoded: Buffer.from(SECRET).toString('base64'),
    },
    `job job-1: got ${SECRET} and ${TRICKY}`,
  );
  log.warn(new Error(`failed with ${TRICKY}`), `job job-1: ${SECRET}`);
}

describe('createPilotLog', () => {
  it('writes the text lines the pilot always wrote, at once, warnings marked and debug left out', () => {
    const { log, jobLog, written } = pilotLog('text');
    log.info('no job is queued');
    expect(written).toEqual(['2026-01-02T03:04:05.000Z panda-pilot: no job is queued\n']);
    log.warn('payloads run as root');
    log.debug('not shown');
    jobLog({ job: 'job-1' }, (text) => text.replace('acquired', 'taken')).info('job job-1: acquired');
    expect(written.slice(1)).toEqual([
      '2026-01-02T03:04:05.000Z panda-pilot: warning: payloads run as root\n',
      '2026-01-02T03:04:05.000Z panda-pilot: job job-1: taken\n',
    ]);
  });

  it("writes pino's JSON lines with --log-format json, a job's id among the fields of its lines", () => {
    const { log, jobLog, written } = pilotLog('json');
    log.info('no job is queued');
    jobLog({ job: 'job-1' }, (text) => text).warn('job job-1: acquired');
    expect(written.map((line) => JSON.parse(line))).toEqual([
      {
        level: 30,
        time: '2026-01-02T03:04:05.000Z',
        pid: process.pid,
        hostname: hostname(),
        name: 'panda-pilot',
        msg: 'no job is queued',
      },
      {
        level: 40,
        time: '2026-01-02T03:04:05.000Z',
        pid: process.pid,
        hostname: hostname(),
        name: 'panda-pilot',
        job: 'job-1',
        msg: 'job job-1: acquired',
      },
    ]);
    expect(written.every((line) => line.endsWith('}\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
  });

  it("masks a job's secrets in every field of a JSON line: bindings, message, nested values, an error's stack", () => {
    const { jobLog, written } = pilotLog('json');
    logSecrets(jobLog);
    for (const form of FORBIDDEN) expect(written.join('')).not.toContain(form);
    const [info, warning] = written.map((line) => JSON.parse(line));
    expect(info).toMatchObject({
      job: 'job-1',
      token: '***',
      value: '***',
      tricky: '***',
      nested: { deep: 'x***y', list: ['***', 7] },
      encoded: '***',
      msg: 'job job-1: got *** and ***',
    });
    expect(warning).toMatchObject({ level: 40, msg: 'job job-1: ***', err: { message: 'failed with ***' } });
    expect(warning.err.stack).toMatch(/^Error: failed with \*\*\*\n {4}at /);
  });

  it("masks a job's secrets in its text lines, also a secret that spans lines", () => {
    const { jobLog, written } = pilotLog('text');
    logSecrets(jobLog);
    expect(written).toEqual([
      '2026-01-02T03:04:05.000Z panda-pilot: job job-1: got *** and ***\n',
      '2026-01-02T03:04:05.000Z panda-pilot: warning: job job-1: ***\n',
    ]);
  });
});
