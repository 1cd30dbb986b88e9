// The one error shape of the API, SFTPGo's `{message, error}`: `error` says what went wrong (for a
// missing resource SFTPGo's "Not Found", with the specific text in `message`), and `details` lists
// the fields at fault as `[{path, message}]`, which SFTPGo's clients ignore.
import type { Context } from 'hono';
import type { FieldError } from '../config/validate.ts';

export interface ErrorBody {
  message: string;
  error: string;
  details?: FieldError[];
}

export function errorBody(status: number, error: string, details: FieldError[] = []): ErrorBody {
  const fields = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ');
  const text = fields && !error.includes(fields) ? `${error}: ${fields}` : error;
  const body: ErrorBody = status === 404 ? { message: text, error: 'Not Found' } : { message: '', error: text };
  if (details.length > 0) body.details = details;
  return body;
}

export function errorResponse(c: Context, status: number, error: string, details: FieldError[] = []): Response {
  return c.json(errorBody(status, error, details), status as 400);
}
