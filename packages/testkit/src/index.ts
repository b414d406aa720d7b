export { selfSignedCertificate } from './certificates.js';
export type { SelfSignedCertificate } from './certificates.js';
export { pandaErrorOf } from './errors.js';
export { freePort } from './ports.js';
export { childrenRunning, eventually, killMarkedProcesses, markedProcesses, newMarker } from './processes.js';
export { describeAsRoot } from './root.js';
export { SEED_SESSION } from './seed.js';
export { ExpectedCalls, Script, verifyFakesAfterEachTest } from './verify.js';
export { createTestDatabase, queryDatabase, startPrivateCluster, TEST_PG_ADMIN_URL } from './postgres.js';
export type { PrivateCluster, TestDatabase } from './postgres.js';
export { REPO_ROOT, binPath, callApi, cleanEnv, runCli, startCli, startServer } from './server.js';
export type {
  BinName,
  CliResult,
  RunCliOptions,
  RunningServer,
  StartedCli,
  StartServerOptions,
  TokenOptions,
} from './server.js';
export { DEFAULT_TEST_ACCOUNT, startOidcProvider } from './oidc-provider.js';
export type { OidcProviderOptions, RunningOidcProvider, TestAccount } from './oidc-provider.js';
export { PANDA_CLIENT_PEER, pandaClientPeer, runPandaPbook } from './panda-peer.js';
export type { PandaPbookRun } from './panda-peer.js';
export { slurmPrograms, startSlurmCluster } from './slurm.js';
export type { SlurmCluster, SlurmJob } from './slurm.js';
export { announceSkip } from './skips.js';
