export { createSqliteStore } from './sqlite.js';
export type { SqliteStoreOptions } from './sqlite.js';
export { createPostgresStore, migratePostgres } from './postgres.js';
export type { PostgresStoreOptions } from './postgres.js';
export { createStore, SQLITE_FILE_NAME } from './create-store.js';
export type { CreateStoreOptions } from './create-store.js';
export { missingJobSecrets, taskNotFound } from './rules.js';
export type { StoreClock } from './rules.js';
export type {
  AuditAction,
  AuditInput,
  AuditRecord,
  CiphertextUpdate,
  AttemptRow,
  ClaimedJob,
  JobLimits,
  JobRow,
  JobUpdateInput,
  LeaseRenewal,
  LogSlice,
  RetentionResult,
  TaskDetailRow,
  TaskRow,
  PutSecretInput,
  SecretWrite,
  Quota,
  Store,
  SecretCiphertext,
  StoredSecret,
} from './types.js';
