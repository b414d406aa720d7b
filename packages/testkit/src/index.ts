export { createTestDatabase, TEST_PG_ADMIN_URL } from './postgres.js';
export type { TestDatabase } from './postgres.js';
