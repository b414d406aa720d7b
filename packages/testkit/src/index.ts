export { createTestDatabase, queryDatabase, startPrivateCluster, TEST_PG_ADMIN_URL } from './postgres.js';
export type { PrivateCluster, TestDatabase } from './postgres.js';
export { REPO_ROOT, binPath, cleanEnv, runCli, startServer } from './server.js';
export type { BinName, CliResult, RunCliOptions, RunningServer, StartServerOptions, TokenOptions } from './server.js';
export { slurmPrograms, startSlurmCluster } from './slurm.js';
export type { SlurmCluster, SlurmJob } from './slurm.js';
