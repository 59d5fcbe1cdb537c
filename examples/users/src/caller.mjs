// Who is calling: the bearer token of the request, checked by the `auth` gRPC service.

/**
 * @typedef {{ subject: string, scopes: string[] }} Caller
 * @typedef {import('justfn').GrpcClient} GrpcClient
 */

/** gRPC status codes that mean "the auth service cannot answer now", not "the token is bad". */
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/** The auth service did not answer: the caller gets a 503 and may retry. */
export class AuthUnavailable extends Error {
  name = 'AuthUnavailable';
}

/**
 * The caller behind `Authorization: Bearer <token>`, or `undefined` when there is no token or the auth
 * service says it is not valid.
 *
 * @param {GrpcClient} auth `context.resources.auth`
 * @param {string | undefined} authorization the request's Authorization header
 * @param {number} budgetMs how long the call may take (the invocation's remaining time, at most 2 s)
 * @returns {Promise<Caller | undefined>}
 */
export async function authenticate(auth, authorization, budgetMs) {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token) return undefined;
  const reply = await new Promise((resolve, reject) =>
    auth.Verify({ token }, { deadline: Date.now() + Math.min(budgetMs, 2_000) }, (error, answer) =>
      error ? reject(error) : resolve(answer),
    ),
  ).catch((error) => {
    if (error.code === UNAVAILABLE || error.code === DEADLINE_EXCEEDED) {
      throw new AuthUnavailable(`the auth service did not answer: ${error.details}`, { cause: error });
    }
    throw error;
  });
  return reply.valid ? { subject: reply.subject, scopes: reply.scopes } : undefined;
}
