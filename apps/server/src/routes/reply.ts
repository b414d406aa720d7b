import type { ApiResponse } from '@panda-secrets/protocol';
import type { FastifyRequest } from 'fastify';
import { requireRole } from '../auth.js';

/** A successful response in PanDA's shape. */
export function ok<T>(data: T, message = 'OK'): ApiResponse<T> {
  return { success: true, message, data };
}

/** Route guard: users only (a pilot token is refused). */
export async function userOnly(request: FastifyRequest): Promise<void> {
  requireRole(request.identity, 'user');
}

/** Route guard: pilots only (a user token is refused). */
export async function pilotOnly(request: FastifyRequest): Promise<void> {
  requireRole(request.identity, 'pilot');
}
