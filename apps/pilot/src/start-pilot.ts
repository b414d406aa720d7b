import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExitCode } from '@panda-secrets/protocol';
import { type ConnectionOptions, resolveClientOptions, tokenFileOf } from '@panda-secrets/client';
import { CREDENTIAL_ENV } from './credentials.js';
import { type LogFormat, type PilotLog, createPilotLog } from './logger.js';
import { type PilotClient, type PilotOptions, runPilot } from './pilot.js';
import type { Deps, ProgramDeps } from './program.js';
import { tokenReader } from './token.js';
import { lookupUser } from './users.js';

/** The pilot's options that are not the job loop's. */
export interface PilotGlobal {
  connection: ConnectionOptions;
  logFormat: LogFormat;
}

/** The pilot's command line: the job loop's options, and the --run-as user as given. */
export interface PilotCommandOptions {
  options: Omit<PilotOptions, 'runAs'>;
  /** Resolved when the pilot starts. */
  runAs?: string;
}

const logs = new WeakMap<object, PilotLog>();

/**
 * The pilot's own log on stderr (pino, in --log-format), one per stderr stream: the client's
 * connect and the command get different copies of the process' deps, but the same stream.
 */
function pilotLog(deps: Pick<ProgramDeps, 'stderr' | 'now'>, format: LogFormat): PilotLog {
  let made = logs.get(deps.stderr);
  if (made === undefined) {
    made = createPilotLog({ stream: deps.stderr, now: deps.now, format });
    logs.set(deps.stderr, made);
  }
  return made;
}

/**
 * The pilot's client, with its token re-read from --token-file (or the file the environment
 * names) before each call, so an operator can renew it while the pilot runs.
 */
export async function connect(deps: ProgramDeps, global: PilotGlobal): Promise<PilotClient> {
  const clientOptions = await resolveClientOptions(deps, global.connection, 'pilot');
  const tokenFile = tokenFileOf(deps, global.connection);
  if (tokenFile === undefined || clientOptions.token === undefined) return deps.createClient(clientOptions);
  const reader = { readFile: deps.readFile, now: deps.now, log: pilotLog(deps, global.logFormat).log };
  return deps.createClient({ ...clientOptions, tokenSource: tokenReader(reader, tokenFile, clientOptions.token) });
}

/** What a payload without --run-as can still do, though its job's mount namespace hides the pilot's token file. */
const SHARED_USER_WARNING = {
  root: 'payloads run as root: they could undo the mount that hides the token file from them; use --run-as USER',
  user: "payloads run as this pilot's own user: they cannot read its token file but can change what that user owns; run as root with --run-as USER",
};

/** The file `path` names, symbolic links resolved, so that a payload finds it hidden by whichever path it reads it. */
async function realFile(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

/** The payload's environment: the pilot's own without the variables that carry its credentials. */
export function payloadEnvironment(env: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const payloadEnv: NodeJS.ProcessEnv = { ...env };
  for (const name of CREDENTIAL_ENV) delete payloadEnv[name];
  return payloadEnv;
}

/**
 * The panda-pilot command: resolves the --run-as user, connects, and runs jobs until told to stop
 * (or --once, --max-jobs, --exit-when-idle). Exits 1 when a stop signal handed a running job back.
 */
export async function startPilot(deps: Deps, global: PilotGlobal, command: PilotCommandOptions): Promise<number> {
  const { log, jobLog } = pilotLog(deps, global.logFormat);
  if (command.runAs === undefined) log.warn(SHARED_USER_WARNING[deps.uid === 0 ? 'root' : 'user']);
  const runAs = command.runAs === undefined ? undefined : await lookupUser(command.runAs);
  const client = await deps.client();
  const tokenFile = tokenFileOf(deps, global.connection);
  const summary = await runPilot(
    { client, log, jobLog, payloadEnv: payloadEnvironment(deps.env), signal: deps.signal, sleep: deps.sleep },
    {
      ...command.options,
      runAs,
      ...(tokenFile === undefined ? {} : { hiddenFiles: [await realFile(tokenFile.path)] }),
    },
  );
  if (deps.signal.aborted) log.info(`stopped by ${String(deps.signal.reason)} after ${summary.jobs} job(s)`);
  return summary.interruptedJob ? ExitCode.ERROR : ExitCode.OK;
}
