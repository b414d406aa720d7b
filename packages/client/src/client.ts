import got, { RequestError } from 'got';
import type { Got, Method, Response } from 'got';
import { ApiPath, parseSecretJson } from '@panda-secrets/protocol';
import {
  AcquireJobsResponseDataSchema,
  HeartbeatResponseDataSchema,
  ImportSecretsResponseDataSchema,
  JobInfoSchema,
  JobLogResponseDataSchema,
  KillTaskResponseDataSchema,
  ListTasksResponseDataSchema,
  RetryTaskResponseDataSchema,
  SecretMetadataListSchema,
  SubmitJobsResponseDataSchema,
  TaskDetailSchema,
  TaskJobLogResponseDataSchema,
  UpdateJobResponseDataSchema,
  UserSecretsSchema,
  assertSchema,
} from '@panda-secrets/protocol/schemas';
import type {
  AcquiredJob,
  HeartbeatRequest,
  HeartbeatResponseData,
  ImportSecretsResponseData,
  JobInfo,
  JobLogResponseData,
  JobSpec,
  KillTaskResponseData,
  RetryTaskResponseData,
  SecretMetadata,
  SetUserSecretsRequest,
  SubmitJobsResponseData,
  TaskDetail,
  TaskInfo,
  TaskJobLogResponseData,
  UpdateJobRequest,
  UpdateJobResponseData,
} from '@panda-secrets/protocol';
import type { Static, TSchema } from '@sinclair/typebox';
import { checkedBody, malformedData, unreachableError } from './errors.js';
import { trustedCertificates } from './signin/http.js';

export interface ClientOptions {
  /** Base URL of panda-server, e.g. `http://127.0.0.1:25080`. */
  server: string;
  /** Bearer token; without one no Authorization header is sent. */
  token?: string;
  /**
   * Gives the token before each request instead of `token`, so a token renewed in place (a file
   * rewritten by its operator) is used from the next call on.
   */
  tokenSource?: () => Promise<string>;
  /** The user's VO, sent as the Origin header as PanDA's client does. */
  vo?: string;
  /** Time allowed for one whole request, in milliseconds. Default 30000. */
  timeoutMs?: number;
  /** Retries of GET calls after a connection failure or a 502/503/504. Default 2. */
  retries?: number;
  /** Delay before the first retry in milliseconds, doubling with each further retry. Default 1000. */
  retryDelayMs?: number;
  /** PEM of an extra CA to trust, for a server with a self-signed certificate. */
  ca?: string;
}

/**
 * Statuses worth another GET: the server or a proxy in front of it is briefly overloaded. Not 429:
 * a user over their rate gets the server's message (how long to wait) rather than blind retries.
 */
const RETRY_STATUSES = [502, 503, 504];

interface CallOptions {
  json?: unknown;
  searchParams?: URLSearchParams;
}

/** `data` as `schema` describes it, else a SERVER_ERROR saying which field of `what` is wrong. */
function dataOf<T extends TSchema>(schema: T, data: unknown, what: string): Static<T> {
  assertSchema(schema, data, (problem) => malformedData(`${what} (${problem.message})`), 'data');
  return data;
}

function jobsPath(id: string): string {
  return `${ApiPath.jobs}/${encodeURIComponent(id)}`;
}

function tasksPath(taskId: number): string {
  return `${ApiPath.tasks}/${encodeURIComponent(String(taskId))}`;
}

/**
 * Typed client of panda-server's HTTP API. Every failure is a PandaError with a stable code:
 * SERVER_UNREACHABLE when no HTTP answer came, else the code the server's answer stands for.
 *
 * @example
 * const client = new PandaClient({ server: 'http://127.0.0.1:25080', token });
 * await client.setSecret('MY_SECRET', 'random_string');
 * const secrets = await client.getSecrets(); // { MY_SECRET: 'random_string' }
 */
export class PandaClient {
  readonly #server: string;
  readonly #http: Got;

  constructor(options: ClientOptions) {
    this.#server = options.server.replace(/\/+$/, '');
    const retryDelayMs = options.retryDelayMs ?? 1000;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'accept-encoding': 'gzip',
    };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.vo !== undefined) headers.origin = options.vo;
    this.#http = got.extend({
      prefixUrl: `${this.#server}/`,
      headers,
      timeout: { request: options.timeoutMs ?? 30_000 },
      retry: {
        limit: options.retries ?? 2,
        methods: ['GET'],
        statusCodes: RETRY_STATUSES,
        // Got's computed value is 0 when its rules forbid a retry; otherwise use our own backoff.
        calculateDelay: ({ computedValue, attemptCount }) =>
          computedValue === 0 ? 0 : retryDelayMs * 2 ** (attemptCount - 1),
      },
      throwHttpErrors: false,
      // A redirect would re-send a secret's value to wherever it points; panda-server never redirects.
      followRedirect: false,
      responseType: 'text',
      ...(options.tokenSource === undefined
        ? {}
        : {
            hooks: {
              beforeRequest: [
                async (request) => {
                  request.headers.authorization = `Bearer ${await options.tokenSource!()}`;
                },
              ],
            },
          }),
      // An extra CA adds to the public roots: the identity provider may use a public one.
      ...(options.ca === undefined ? {} : { https: { certificateAuthority: trustedCertificates(options.ca) } }),
    });
  }

  async #call(method: Method, path: string, options: CallOptions = {}): Promise<unknown> {
    let response: Response<string>;
    try {
      response = await this.#http(path.replace(/^\//, ''), {
        method,
        ...(options.json === undefined ? {} : { json: options.json }),
        ...(options.searchParams === undefined ? {} : { searchParams: options.searchParams }),
      });
    } catch (error) {
      if (error instanceof RequestError && error.response === undefined) {
        throw unreachableError(this.#server, error);
      }
      throw error;
    }
    return checkedBody(this.#server, response.statusCode, response.body as string).data;
  }

  async #setUserSecrets(request: SetUserSecretsRequest): Promise<void> {
    await this.#call('POST', ApiPath.setUserSecrets, { json: request });
  }

  /** Stores (or replaces) one secret under its wire key (`NAME` or `___file___:NAME`). */
  setSecret(key: string, value: string): Promise<void> {
    return this.#setUserSecrets({ key, value });
  }

  /** Deletes one secret, env or file; NOT_FOUND when neither `key` nor `___file___:key` exists. */
  deleteSecret(key: string): Promise<void> {
    return this.#setUserSecrets({ key, value: null });
  }

  /** Deletes every secret of the token's owner. */
  deleteAllSecrets(): Promise<void> {
    return this.#setUserSecrets({ key: null, value: null });
  }

  /**
   * The owner's secrets by wire key, all of them or only `keys`. File secrets appear under
   * `___file___:NAME` with the file's bytes in base64. An empty `keys` asks for nothing.
   */
  async getSecrets(keys?: string[]): Promise<Record<string, string>> {
    // No `keys` parameter means "all" on the wire, so an empty list must not reach the server.
    if (keys?.length === 0) return {};
    const searchParams =
      keys === undefined ? undefined : new URLSearchParams(keys.map((key): [string, string] => ['keys', key]));
    const data = await this.#call('GET', ApiPath.getUserSecrets, searchParams === undefined ? {} : { searchParams });
    if (typeof data !== 'string') throw malformedData('the secrets are not a JSON string');
    const secrets = parseSecretJson(data, () => malformedData('the secrets are not valid JSON'));
    return dataOf(UserSecretsSchema, secrets, 'the secrets are not an object of strings');
  }

  /** Each secret's wire key, size and last update, sorted by key; never a value (our own call). */
  async getSecretsMetadata(): Promise<SecretMetadata[]> {
    const data = await this.#call('GET', ApiPath.secretsMetadata);
    return dataOf(SecretMetadataListSchema, data, 'the metadata is not a list of {key, size, updatedAt}');
  }

  /**
   * Sets every secret of `secrets` (wire key to value) in one request and one transaction: all
   * of them, or, when one is refused or the server fails, none (our own call).
   */
  async importSecrets(secrets: ReadonlyArray<{ key: string; value: string }>): Promise<ImportSecretsResponseData> {
    const data = await this.#call('POST', ApiPath.importSecrets, { json: { secrets } });
    const { created, replaced } = dataOf(
      ImportSecretsResponseDataSchema,
      data,
      'the import result is not {created, replaced}',
    );
    return { created, replaced };
  }

  /** Submits jobs as one task; returns its task ID and the jobs as queued, numbered from 1. */
  async submitJobs(jobs: JobSpec[]): Promise<SubmitJobsResponseData> {
    const data = await this.#call('POST', ApiPath.submitJobs, { json: { jobs } });
    return dataOf(SubmitJobsResponseDataSchema, data, 'no task');
  }

  /** The caller's tasks, newest first. */
  async listTasks(): Promise<TaskInfo[]> {
    const data = await this.#call('GET', ApiPath.tasks);
    return dataOf(ListTasksResponseDataSchema, data, 'no task list').tasks;
  }

  /** One of the caller's tasks with its jobs and their attempts; NOT_FOUND for another user's. */
  async getTask(taskId: number): Promise<TaskDetail> {
    const data = await this.#call('GET', tasksPath(taskId));
    return dataOf(TaskDetailSchema, data, 'no task');
  }

  /** Cancels the task's queued and running jobs; CONFLICT when it has ended. */
  async killTask(taskId: number): Promise<KillTaskResponseData> {
    const data = await this.#call('POST', `${tasksPath(taskId)}/kill`);
    return dataOf(KillTaskResponseDataSchema, data, 'no task');
  }

  /** Queues the task's failed and cancelled jobs again; CONFLICT when there are none. */
  async retryTask(taskId: number): Promise<RetryTaskResponseData> {
    const data = await this.#call('POST', `${tasksPath(taskId)}/retry`);
    return dataOf(RetryTaskResponseDataSchema, data, 'no task');
  }

  /** Job `jobIndex` of the task: its masked log from byte `offset` (default 0) and the offset to read on from. */
  async getTaskJobLog(taskId: number, jobIndex: number, offset = 0): Promise<TaskJobLogResponseData> {
    const data = await this.#call('GET', `${tasksPath(taskId)}/jobs/${encodeURIComponent(String(jobIndex))}/log`, {
      searchParams: new URLSearchParams({ offset: String(offset) }),
    });
    return dataOf(TaskJobLogResponseDataSchema, data, 'no job log');
  }

  /** One of the caller's jobs. */
  async getJob(id: string): Promise<JobInfo> {
    const data = await this.#call('GET', jobsPath(id));
    return dataOf(JobInfoSchema, data, 'no job');
  }

  /** A job's masked log and state. */
  async getJobLog(id: string): Promise<JobLogResponseData> {
    const data = await this.#call('GET', `${jobsPath(id)}/log`);
    return dataOf(JobLogResponseDataSchema, data, 'no job log');
  }

  /** Pilot call: claims up to `nJobs` queued jobs, their secrets sealed to `publicKey`. */
  async acquireJobs(publicKey: Record<string, unknown>, nJobs?: number): Promise<AcquiredJob[]> {
    const data = await this.#call('POST', ApiPath.acquireJobs, {
      json: nJobs === undefined ? { publicKey } : { publicKey, nJobs },
    });
    return dataOf(AcquireJobsResponseDataSchema, data, 'no job list').jobs;
  }

  /** Pilot call: reports a job's state, exit code and a log chunk; answers the job's state (`cancelled`: stop it). */
  async updateJob(update: UpdateJobRequest): Promise<UpdateJobResponseData> {
    const data = await this.#call('POST', ApiPath.updateJob, { json: update });
    return dataOf(UpdateJobResponseDataSchema, data, 'no job state');
  }

  /** Pilot call: renews the lease of the attempt `claimId` stands for; `cancel` says to stop the job. */
  async heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponseData> {
    const data = await this.#call('POST', ApiPath.heartbeat, { json: request });
    return dataOf(HeartbeatResponseDataSchema, data, 'no lease');
  }
}
