export { ConfigError } from './config-error.js';
export { renderJsonSchema, toJsonSchema } from './json-schema.js';
export { type LoadedConfig, loadServiceConfig } from './load.js';
export { type ConfigPath, formatPath, formatProblem, type Problem } from './problems.js';
export { REDACTED, redactSecrets, redactUrl, secretForms } from './redact.js';
export {
  grpcResourceSchema,
  httpResourceSchema,
  postgresResourceSchema,
  resourceNamePattern,
  resourceSchemas,
} from './resource-schemas.js';
export { type ServiceFile, serviceSchema } from './schema.js';
export type {
  DeployConfig,
  GrpcResourceConfig,
  HttpResourceConfig,
  PostgresResourceConfig,
  ResourceConfig,
  ResourceKind,
  ServiceConfig,
} from './service-config.js';
export { type Substituted, type SubstituteOptions, substitute } from './substitute.js';
export { validateService } from './validate.js';
