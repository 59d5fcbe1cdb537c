// The users API. One handler for every route, as API Gateway (HTTP API, payload 2.0) and justfn's HTTP
// mode deliver them:
//   GET  /users/{id}  a user                      (scope users:read)
//   POST /users       {"name", "email"} → 201     (scope users:write)
// Every request carries `Authorization: Bearer <token>`, checked by the `auth` service. The connections
// are justfn's: `context.resources.db` is a pg.Pool, `context.resources.auth` an auth.v1.Auth client,
// both opened, warmed and kept healthy by the runtime (see justfn.yaml).
import { AuthUnavailable, authenticate } from './caller.mjs';

/**
 * @typedef {import('justfn').ResourcesOf<{ db: 'postgres', auth: 'grpc' }>} Resources
 * @typedef {{ statusCode: number, headers: Record<string, string>, body: string }} Response
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COLUMNS = 'id, name, email, created_by AS "createdBy", created_at AS "createdAt"';

/** @type {import('justfn').Handler<any, Response, Resources>} */
export const handler = async (event, context) => {
  const { db, auth } = context.resources;
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = event.rawPath ?? '/';

  let caller;
  try {
    caller = await authenticate(auth, event.headers?.authorization, context.getRemainingTimeInMillis());
  } catch (error) {
    if (!(error instanceof AuthUnavailable)) throw error;
    console.warn(error.message);
    return reply(503, { message: 'authentication is unavailable, try again' }, { 'retry-after': '1' });
  }
  if (!caller)
    return reply(401, { message: 'a valid bearer token is required' }, { 'www-authenticate': 'Bearer' });

  const one = /^\/users\/([^/]+)$/.exec(path);
  if (one && method === 'GET') {
    if (!caller.scopes.includes('users:read')) return forbidden('users:read');
    const id = decodeURIComponent(one[1]);
    if (!UUID.test(id)) return reply(404, { message: `no user ${id}` });
    const { rows } = await db.query(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] ? reply(200, rows[0]) : reply(404, { message: `no user ${id}` });
  }
  if (path === '/users' && method === 'POST') {
    if (!caller.scopes.includes('users:write')) return forbidden('users:write');
    const input = parseUser(event);
    if (typeof input === 'string') return reply(400, { message: input });
    try {
      const { rows } = await db.query(
        `INSERT INTO users (name, email, created_by) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
        [input.name, input.email, caller.subject],
      );
      console.log(`user ${rows[0].id} created by ${caller.subject}`);
      return reply(201, rows[0], { location: `/users/${rows[0].id}` });
    } catch (error) {
      // SQLSTATE 23505: unique_violation, here the email.
      if (error.code === '23505') return reply(409, { message: `${input.email} is already registered` });
      throw error;
    }
  }
  return reply(404, { message: `no route ${method} ${path}` });
};

/**
 * The new user from the request body, or what is wrong with it.
 * @returns {{ name: string, email: string } | string}
 */
function parseUser(event) {
  let body;
  try {
    const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString() : event.body;
    body = JSON.parse(text ?? '');
  } catch {
    return 'the body must be JSON: {"name": "...", "email": "..."}';
  }
  const name = typeof body?.name === 'string' ? body.name.trim() : '';
  const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
  if (!name || name.length > 200) return 'name: 1 to 200 characters';
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) return 'email: an address like ada@example.com';
  return { name, email };
}

function forbidden(scope) {
  return reply(403, { message: `this token does not allow ${scope}` });
}

/** @returns {Response} */
function reply(statusCode, body, headers = {}) {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
