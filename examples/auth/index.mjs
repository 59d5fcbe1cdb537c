// auth.v1.Auth as a justfn function: one function per method of the service, each
// `(request, context) => reply`. justfn serves it over gRPC on $PORT, with the call's deadline as the
// invocation's, grpc.health.v1 reflecting readiness, and per-method metrics and logs.
//
// The token table is a demo: alice-token reads and writes users, bob-token only reads them. A real
// service would look tokens up in a resource declared in justfn.yaml (a database, an identity provider).

/**
 * @typedef {{ token: string }} VerifyRequest
 * @typedef {{ valid: boolean, subject: string, scopes: string[] }} VerifyReply
 */

/** gRPC's INVALID_ARGUMENT: a thrown error with this `code` answers that status, its message the details. */
const INVALID_ARGUMENT = 3;

const tokens = new Map([
  ['alice-token', { subject: 'alice', scopes: ['users:read', 'users:write'] }],
  ['bob-token', { subject: 'bob', scopes: ['users:read'] }],
]);

export const auth = {
  /**
   * Who holds this token and what they may do. An unknown token is an answer (valid: false), not an
   * error; an empty one is the caller's mistake.
   *
   * @param {VerifyRequest} request
   * @returns {VerifyReply}
   */
  Verify(request) {
    if (!request.token) {
      throw Object.assign(new Error('token is empty'), { code: INVALID_ARGUMENT });
    }
    const holder = tokens.get(request.token);
    // One audit line per call, with the call's request id (justfn adds it to every line).
    console.log(holder ? `verified ${holder.subject}` : 'unknown token');
    return holder ? { valid: true, ...holder } : { valid: false, subject: '', scopes: [] };
  },
};
