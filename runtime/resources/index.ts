export type { ResourceHealth } from './entry.js';
export { createGrpcResource, grpcChannelOptions, loadGrpcService } from './grpc.js';
export { createHttpResource, httpPoolOptions } from './http.js';
export { createPostgresResource } from './postgres.js';
export { createResourceRegistry } from './registry.js';
export type {
  Resource,
  ResourceContext,
  ResourceFactory,
  ResourceLog,
  ResourceState,
} from './resource.js';
export { describeCause, ResourceError } from './resource-error.js';
export {
  DEFAULT_IDLE_MS,
  DEFAULT_OPEN_TIMEOUT_MS,
  type RegistryHealth,
  type RegistryOptions,
  type ResourceRegistry,
  type RetryOptions,
} from './resource-registry.js';
export { createResourcesObject } from './resources-object.js';
export {
  type GrpcClient,
  type ResourceClients,
  type ResourcesOf,
  toResourcesDts,
} from './resources-of.js';
