/**
 * `justfn.yaml` once loaded: validated against `serviceSchema`, variables substituted, defaults applied.
 * A type-level test keeps these in step with the schema (each is assignable to the schema's static type).
 */

/**
 * The kinds a resource can be; `ResourcesOf` maps each to its client type.
 *
 * @example
 * const kind: ResourceKind = 'postgres';
 */
export type ResourceKind = 'postgres' | 'grpc' | 'http';

/**
 * `kind: postgres`: a `pg.Pool`.
 *
 * @example
 * const db: PostgresResourceConfig = { kind: 'postgres', url: 'postgres://db/users', pool: { min: 1, max: 10 } };
 */
export interface PostgresResourceConfig {
  kind: 'postgres';
  url: string;
  pool: { min: number; max: number };
  /** Seconds; absent means the registry's open timeout. */
  timeout?: number;
}

/**
 * `kind: grpc`: a gRPC client for `service`, from `proto` (relative to `justfn.yaml`).
 *
 * @example
 * const auth: GrpcResourceConfig = { kind: 'grpc', target: 'auth:50051', proto: 'auth.proto', service: 'auth.v1.Auth' };
 */
export interface GrpcResourceConfig {
  kind: 'grpc';
  target: string;
  proto: string;
  service: string;
  timeout?: number;
}

/**
 * `kind: http`: an undici `Pool` for `origin`, warmed with `GET warm`.
 *
 * @example
 * const billing: HttpResourceConfig = { kind: 'http', origin: 'http://billing', warm: '/' };
 */
export interface HttpResourceConfig {
  kind: 'http';
  origin: string;
  warm: string;
  timeout?: number;
}

/**
 * One entry of `resources:`, discriminated on `kind`.
 *
 * @example
 * function describe(r: ResourceConfig) { return r.kind === 'postgres' ? r.pool.max : r.kind; }
 */
export type ResourceConfig = PostgresResourceConfig | GrpcResourceConfig | HttpResourceConfig;

/**
 * The `deploy:` block; sub-blocks get their defaults only when present.
 *
 * @example
 * const deploy: DeployConfig = { image: 'registry.example.com/users:1.4.2', lambda: { architecture: 'arm64' } };
 */
export interface DeployConfig {
  image?: string;
  knative?: { minScale: number; maxScale: number; target?: number };
  kubernetes?: { replicas: number; host?: string };
  lambda?: { architecture: 'x86_64' | 'arm64' };
}

/**
 * The loaded service description. Exactly one of `http` and `grpc` is set: `http` (with its defaults)
 * unless the file has a `grpc:` block.
 *
 * @example
 * const { config } = loadServiceConfig('justfn.yaml', env);
 * if (config.grpc) serveGrpc(config.grpc.service); else serveHttp(config.http!.port);
 */
export interface ServiceConfig {
  name: string;
  handler: string;
  timeout: number;
  /** MB; unset means the platform decides (the container's limit, Lambda's default). */
  memory?: number;
  concurrency: number;
  http?: { port: number; event: 'apigw-v2' | 'apigw-v1' | 'alb'; replyType?: string; replySource?: string };
  grpc?: { proto: string; service: string };
  resources: Record<string, ResourceConfig>;
  deploy?: DeployConfig;
}
