// The one error shape of the API: `{error, details: [{path, message}]}`.
import type { Context } from 'hono';
import type { FieldError } from '../config/validate.ts';

export function errorResponse(c: Context, status: number, error: string, details: FieldError[] = []): Response {
  return c.json({ error, details }, status as 400);
}
