/**
 * The name under which `grpc.health.v1.Health` answers `SERVING` for as long as the process answers at
 * all, resources down or draining (not once every slot has been held past its deadline for the timeout
 * again: only a restart frees those): what a liveness probe asks (`grpc: { port, service: 'liveness' }`).
 * `""` and the function's own service follow readiness, and restarting a pod because its database is
 * down would not bring the database back.
 */
export const LIVENESS_SERVICE = 'liveness';
