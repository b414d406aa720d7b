export { createTestDatabase, queryDatabase, startPrivateCluster, TEST_PG_ADMIN_URL } from './postgres.js';
export type { PrivateCluster, TestDatabase } from './postgres.js';
export { REPO_ROOT, binPath, callApi, cleanEnv, runCli, startServer } from './server.js';
export type { BinName, CliResult, RunCliOptions, RunningServer, StartServerOptions, TokenOptions } from './server.js';
export { DEFAULT_TEST_ACCOUNT, startOidcProvider } from './oidc-provider.js';
export type { OidcProviderOptions, RunningOidcProvider, TestAccount } from './oidc-provider.js';
export { PANDA_CLIENT_PEER, pandaClientPeer, runPandaPbook } from './panda-peer.js';
export type { PandaPbookRun } from './panda-peer.js';
