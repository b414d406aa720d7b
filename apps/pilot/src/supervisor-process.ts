import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SYSTEM_PATH, readLines } from './supervisor.js';
import type { SupervisorEvent, SupervisorInput, SupervisorOutput, SupervisorRequest } from './supervisor.js';
import { removeStaleJobDirs } from './job-dir.js';
import { writeRequestLine } from './request-line.js';

/**
 * The supervisor's compiled entry point, dist/supervisor-main.js of this package: one folder up
 * from src/ (tests) and dist/, two from the bundle's chunks (bundle/chunks/).
 */
const SUPERVISOR =
  ['../dist/supervisor-main.js', '../../dist/supervisor-main.js']
    .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
    .find((path) => existsSync(path)) ?? fileURLToPath(new URL('../dist/supervisor-main.js', import.meta.url));

/** How a job under the supervisor ended, as far as the supervisor told. */
interface SupervisedEnd {
  events: SupervisorEvent[];
  /** How the supervisor ended, when it ended before the job's end (for the message); else undefined. */
  supervisorEnd?: string;
}

interface PendingJob {
  workRoot: string;
  onOutput(fd: 1 | 2, chunk: Buffer): void;
  events: SupervisorEvent[];
  finish(end: SupervisedEnd): void;
}

/**
 * The pilot's side of a job supervisor (supervisor-main.ts): one process, started on first use,
 * that runs any number of jobs at once, each in its own namespaces with its own directory. When it
 * ends before a job does (killed with SIGKILL), its jobs' namespaces die with it (parent-death
 * signal); their directories are removed here, and the next job starts a new supervisor.
 */
export class SupervisorProcess {
  private child: ChildProcess | undefined;
  private readonly jobs = new Map<number, PendingJob>();
  /** What the running supervisor said of the error that crashed it, if one did. */
  private crash: string | undefined;
  private nextId = 1;

  /** `entry`: the supervisor's script (another only in tests). */
  constructor(private readonly entry = SUPERVISOR) {}

  private start(): ChildProcess {
    // Detached: a Ctrl-C meant for the pilot reaches the supervisor only as the pilot's `stop`.
    const child = spawn(process.execPath, [this.entry], {
      env: { PATH: SYSTEM_PATH },
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    });
    child.stdin!.on('error', () => undefined);
    readLines(child.stdio[3] as Readable, (line) => this.receive(JSON.parse(line) as SupervisorOutput));
    const gone = (how: string): void => {
      if (this.child === child) this.child = undefined;
      void this.lost(this.crash === undefined ? how : `${how}, after a crash: ${this.crash}`);
      this.crash = undefined;
    };
    child.once('error', (error) => gone(`cannot start it: ${error.message}`));
    child.once('close', (code, signal) => gone(signal ?? `exit code ${code}`));
    this.child = child;
    return child;
  }

  private receive(line: SupervisorOutput): void {
    if (line.type === 'crashed') {
      this.crash = line.error;
      return;
    }
    const job = this.jobs.get(line.id);
    if (job === undefined) return;
    if (line.type === 'output') job.onOutput(line.fd, Buffer.from(line.data, 'base64'));
    else if (line.type === 'done') {
      this.jobs.delete(line.id);
      job.finish({ events: job.events });
    } else {
      const { id: _id, ...event } = line;
      job.events.push(event);
    }
  }

  /** Ends the jobs the supervisor did not finish, once their directories are removed. */
  private async lost(how: string): Promise<void> {
    const lost = [...this.jobs.values()];
    this.jobs.clear();
    for (const root of new Set(lost.map((job) => job.workRoot))) {
      await removeStaleJobDirs(root).catch(() => undefined);
    }
    for (const job of lost) job.finish({ events: job.events, supervisorEnd: how });
  }

  /** The writes to the supervisor's stdin, one after another: a job's line goes out in pieces. */
  private writing: Promise<void> = Promise.resolve();

  /** Writes `input` as one line after those sent before it; a job's file secrets go out a piece at a time. */
  private send(input: SupervisorInput): void {
    const stdin = (this.child ?? this.start()).stdin!;
    this.writing = this.writing.then(() =>
      input.type === 'run'
        ? writeRequestLine(stdin, input.job, `{"type":"run","id":${input.id},"job":`, '}')
        : void stdin.write(`${JSON.stringify(input)}\n`),
    );
  }

  /**
   * Hands `request` to the supervisor; `onOutput` gets the payload's output (fd 1 or 2) in order of
   * arrival. `stop()` asks the job to stop; `ended` resolves when the job's directory is removed.
   */
  run(request: SupervisorRequest, onOutput: (fd: 1 | 2, chunk: Buffer) => void) {
    const id = this.nextId++;
    const ended = new Promise<SupervisedEnd>((finish) => {
      this.jobs.set(id, { workRoot: request.workRoot, onOutput, events: [], finish });
    });
    this.send({ type: 'run', id, job: request });
    return {
      ended,
      stop: (): void => {
        if (this.jobs.has(id)) this.send({ type: 'stop', id });
      },
    };
  }

  /** Ends the supervisor's input, which kills what still runs, and waits until it exits. */
  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.stdin!.end();
    await closed;
  }
}
