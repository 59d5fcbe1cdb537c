import type { ResourceConfig } from '../config/service-config.js';

/**
 * The logger resources report to: pino's shape (`log.info({ resource: 'db' }, 'message')`).
 *
 * @example
 * const log: ResourceLog = pino();
 */
export interface ResourceLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * What a kind needs to build one resource.
 *
 * @example
 * createHttpResource(config, { name: 'billing', baseDir: '/var/task', log, timeoutMs: 5000, applicationName: 'users' });
 */
export interface ResourceContext {
  /** The key under `resources:`. */
  name: string;
  /** `justfn.yaml`'s directory: relative paths (`proto:`) start there. */
  baseDir: string;
  log: ResourceLog;
  /** How long one connect, warm-up or health check may take. */
  timeoutMs: number;
  /** How the service introduces itself to servers that ask (PostgreSQL's `application_name`). */
  applicationName: string;
}

/**
 * One declared resource, for one open/close cycle: every kind implements this, and the registry drives
 * them all the same way (STYLE habit 6). A closed resource is not reopened; the registry builds a new one.
 *
 * @example
 * const db = createPostgresResource(config, context);
 * await db.open(signal); // min connections up, each has run SELECT 1
 * await db.client.query('select now()');
 * await db.close();
 */
export interface Resource<Client = unknown> {
  /** What handlers get as `context.resources.<name>`; may be replaced by `refresh`. */
  readonly client: Client;
  /** Where it connects, fit to print: a URL's password is masked. */
  readonly target: string;
  /** Connects and warms with a real round trip; rejects with the cause. */
  open(signal: AbortSignal): Promise<void>;
  /** One real round trip; rejects when it fails. */
  check(signal: AbortSignal): Promise<void>;
  /** After an idle gap (a Lambda thaw): validates connections and replaces the dead ones. */
  refresh(signal: AbortSignal): Promise<void>;
  /** Closes everything; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Builds a resource of one kind from its config. Throws only for what no retry can fix (a service missing
 * from its `.proto`).
 *
 * @example
 * const factory: ResourceFactory<HttpResourceConfig> = createHttpResource;
 */
export type ResourceFactory<Config extends ResourceConfig = ResourceConfig, Client = unknown> = (
  config: Config,
  context: ResourceContext,
) => Resource<Client>;

/**
 * `onState` and `health()` report these: `closed` → `opening` → `open`, or → `retrying` (HTTP mode keeps
 * trying) or `failed` (`open()` gave up); `closing` → `closed` on shutdown.
 *
 * @example
 * if (health.resources.db?.state === 'retrying') log.warn('waiting for the database');
 */
export type ResourceState = 'closed' | 'opening' | 'open' | 'retrying' | 'failed' | 'closing';
