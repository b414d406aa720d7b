export { createTestDatabase, queryDatabase, startPrivateCluster, TEST_PG_ADMIN_URL } from './postgres.js';
export type { PrivateCluster, TestDatabase } from './postgres.js';
export { REPO_ROOT, binPath, callApi, cleanEnv, runCli, startServer } from './server.js';
export type { BinName, CliResult, RunCliOptions, RunningServer, StartServerOptions, TokenOptions } from './server.js';
