import { Readable } from 'node:stream';
import { FILE_PREFIX, PandaError, wireKeysOf } from '@panda-secrets/protocol';
import type { SecretMetadata } from '@panda-secrets/protocol';
import type { ClientOptions } from '@panda-secrets/client';
import { lazyClient } from '@panda-secrets/cli-kit';
import { Script, outputCollector } from '@panda-secrets/testkit/unit';
import type { Runner } from '../commands/spec.js';
import { connect } from '../connect.js';
import type { FileStat, FileSystem, GlobalOptions, ProgramDeps, SecretsClient } from '../deps.js';
import { main } from '../program.js';
import { cancelledByCtrlC } from '../terminal.js';
import { FakeTasks } from './fake-tasks.js';

/** When the fake server says every secret was last set. */
export const FAKE_UPDATED_AT = '2026-11-27T10:00:00.000Z';

/** An in-memory stand-in for panda-server behind the client, for unit tests of pbook's commands. */
export class FakeClient extends FakeTasks implements SecretsClient {
  readonly secrets = new Map<string, string>();
  readonly calls: string[] = [];

  protected override madeCalls(): string[] {
    return [...this.calls, ...this.taskCalls];
  }

  async setSecret(key: string, value: string): Promise<void> {
    this.calls.push(`set ${key}`);
    this.secrets.set(key, value);
  }

  async deleteSecret(key: string): Promise<void> {
    this.calls.push(`delete ${key}`);
    const stored = wireKeysOf(key).find((candidate) => this.secrets.has(candidate));
    if (stored === undefined) throw new PandaError('NOT_FOUND', `no secret named "${key}"`);
    this.secrets.delete(stored);
  }

  async deleteAllSecrets(): Promise<void> {
    this.calls.push('delete all');
    this.secrets.clear();
  }

  async getSecrets(keys?: string[]): Promise<Record<string, string>> {
    this.calls.push('get');
    const all = Object.fromEntries(this.secrets);
    return keys === undefined ? all : Object.fromEntries(Object.entries(all).filter(([key]) => keys.includes(key)));
  }

  /** Every secret was last set at FAKE_UPDATED_AT. */
  async getSecretsMetadata(): Promise<SecretMetadata[]> {
    this.calls.push('metadata');
    return [...this.secrets]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => ({
        key,
        size: key.startsWith(FILE_PREFIX) ? Buffer.from(value, 'base64').length : Buffer.byteLength(value),
        updatedAt: FAKE_UPDATED_AT,
      }));
  }

  async importSecrets(
    secrets: ReadonlyArray<{ key: string; value: string }>,
  ): Promise<{ created: number; replaced: number }> {
    this.calls.push(`import ${secrets.map((entry) => entry.key).join(',')}`);
    const replaced = secrets.filter((entry) => this.secrets.has(entry.key)).length;
    for (const { key, value } of secrets) this.secrets.set(key, value);
    return { created: secrets.length - replaced, replaced };
  }
}

export interface FakeOutput {
  stdout: string;
  stderr: string;
  client: FakeClient;
  /** The options the client was made with (one entry per client made). */
  clientOptions: ClientOptions[];
  /** Questions asked through the injected prompter. */
  questions: string[];
}

export interface FakeSetup {
  stdin?: string | Buffer;
  isTTY?: { stdin: boolean; stdout: boolean };
  /** What deps.terminalWidth() says. */
  terminalWidth?: number;
  env?: Record<string, string | undefined>;
  fs?: FileSystem;
  /**
   * Answers of the injected prompter, in order (null: Ctrl-D, 'ctrl-c': Ctrl-C); an answer never
   * asked for fails the test.
   */
  answers?: Array<string | null>;
  client?: FakeClient;
}

/** What `stat` says of a regular file of `size` bytes. */
export function regularFile(size: number): FileStat {
  return { size, isFile: () => true, isFIFO: () => false, isCharacterDevice: () => false, isDirectory: () => false };
}

const noFiles: FileSystem = {
  stat: async (path) => {
    throw Object.assign(new Error(`ENOENT: no such file, stat '${path}'`), { code: 'ENOENT' });
  },
  readFile: async () => {
    throw new Error('readFile without stat');
  },
  createReadStream: () => {
    throw new Error('createReadStream without stat');
  },
};

/**
 * The process' deps with a fake client, captured streams and scripted prompt answers; `output()`
 * reads what happened.
 */
function fakeDeps(setup: FakeSetup = {}): { deps: ProgramDeps; output: () => FakeOutput } {
  const client = setup.client ?? new FakeClient();
  const stdout = outputCollector();
  const stderr = outputCollector();
  const clientOptions: ClientOptions[] = [];
  const questions: string[] = [];
  const answers = new Script<string | null>('prompt answers', setup.answers ?? []);
  const answer = async (question: string): Promise<string | null> => {
    questions.push(question);
    const next = answers.next();
    if (next === undefined) throw new Error(`unexpected question ${question}`);
    if (next === 'ctrl-c') throw cancelledByCtrlC();
    return next;
  };
  const deps: ProgramDeps = {
    createClient: async (options) => {
      clientOptions.push(options);
      return client;
    },
    stdin: Readable.from(setup.stdin === undefined ? [] : [Buffer.from(setup.stdin)]),
    stdout: stdout.stream,
    stderr: stderr.stream,
    isTTY: setup.isTTY ?? { stdin: false, stdout: false },
    terminalWidth: () => setup.terminalWidth,
    env: { PANDA_AUTH_ID_TOKEN: 'test-token', ...setup.env },
    fs: setup.fs ?? noFiles,
    prompt: { secret: answer, confirm: async (question) => (await answer(question)) === 'y' },
    sleep: async () => undefined,
  };
  return {
    deps,
    output: () => ({ stdout: stdout.text(), stderr: stderr.text(), client, clientOptions, questions }),
  };
}

/** Runs pbook's entry in-process, as `pbook ARGS`, on fake deps. */
export async function runPbook(args: string[], setup: FakeSetup = {}): Promise<FakeOutput & { code: number }> {
  const { deps, output } = fakeDeps(setup);
  const code = await main(args, deps, '1.2.3');
  return { code, ...output() };
}

/** Calls one command's run function on fake deps; a thrown error is returned, not rethrown. */
export async function runCommand<T>(
  run: Runner<T>,
  options: T,
  setup: FakeSetup = {},
  global: GlobalOptions = { verbose: false, color: true },
): Promise<FakeOutput & { error: PandaError | undefined }> {
  const { deps, output } = fakeDeps(setup);
  try {
    await run({ ...deps, client: lazyClient(() => connect(deps, global)) }, global, options);
    return { error: undefined, ...output() };
  } catch (error) {
    return { error: error as PandaError, ...output() };
  }
}
