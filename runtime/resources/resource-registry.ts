import type { ResourceHealth } from './entry.js';
import type { ResourceLog } from './resource.js';

/**
 * How long one resource may take to open, check or refresh when `justfn.yaml` gives no `timeout`.
 *
 * @example
 * createResourceRegistry(resources, { baseDir, log, openTimeoutMs: DEFAULT_OPEN_TIMEOUT_MS * 2 });
 */
export const DEFAULT_OPEN_TIMEOUT_MS = 5_000;
/**
 * The idle gap after which `ensureFresh()` re-validates: well under the 350 s idle timeout of AWS NLBs.
 *
 * @example
 * await registry.ensureFresh(DEFAULT_IDLE_MS);
 */
export const DEFAULT_IDLE_MS = 60_000;

/**
 * Readiness and metrics: every resource's health, and `ready` when all are open and healthy.
 *
 * @example
 * reply.code(registry.health().ready ? 200 : 503);
 */
export interface RegistryHealth {
  ready: boolean;
  resources: Record<string, ResourceHealth>;
}

/**
 * @example
 * createResourceRegistry(config.resources, { baseDir, log, secrets, applicationName: config.name });
 */
export interface RegistryOptions {
  /** `justfn.yaml`'s directory: `proto:` paths are relative to it. */
  baseDir: string;
  log: ResourceLog;
  /** Per resource, unless `justfn.yaml` sets its `timeout`; default {@link DEFAULT_OPEN_TIMEOUT_MS}. */
  openTimeoutMs?: number;
  /** PostgreSQL's `application_name` (a DSN's own wins); default `justfn`. */
  applicationName?: string;
  /** Values never to print (`LoadedConfig.secrets`): removed from errors and logs. */
  secrets?: ReadonlySet<string>;
  /** Called on every state change, with the new health. */
  onState?: (health: RegistryHealth) => void;
}

/**
 * @example
 * await registry.openWithRetry({ signal: shutdown, onState: (h) => setReady(h.ready), maxDelayMs: 10_000 });
 */
export interface RetryOptions {
  /** Stops retrying when aborted. */
  signal?: AbortSignal;
  onState?: (health: RegistryHealth) => void;
  /** First delay between attempts, doubled each time (jittered); default 100. */
  initialDelayMs?: number;
  /** Longest delay; default 10 000. */
  maxDelayMs?: number;
}

/**
 * The declared resources, opened, kept fresh and closed together (one path for init, shutdown, SnapStart
 * and tests).
 *
 * @example
 * const registry = createResourceRegistry<Resources>(config.resources, { baseDir, log });
 * await registry.open();
 * await registry.ensureFresh();            // before each invocation
 * await handler(event, new LambdaContext(info, fn, registry.resources));
 * registry.markUsed();                     // after it
 * await registry.close();                  // on shutdown, and before a SnapStart snapshot
 */
export interface ResourceRegistry<R extends object = Record<string, unknown>> {
  /** `context.resources`: frozen; an undeclared name throws `RESOURCE_NOT_DECLARED`. */
  readonly resources: R;
  /** Opens all at once, each warmed by a real round trip; on any failure closes the rest and throws. */
  open(): Promise<void>;
  /**
   * HTTP mode: opens all at once and keeps retrying the failed ones with backoff. Resolves `true` once all
   * are open, `false` when stopped by `signal` or `close()`; rejects only for what retrying cannot fix.
   */
  openWithRetry(options?: RetryOptions): Promise<boolean>;
  /** One real round trip per open resource; returns the new health. */
  check(): Promise<RegistryHealth>;
  /** If nothing used the resources for `idleMs` of wall-clock time, re-validates and replaces dead connections. */
  ensureFresh(idleMs?: number): Promise<boolean>;
  /** Marks the resources as just used (call it when an invocation ends). */
  markUsed(): void;
  /** Closes all, in reverse declaration order; idempotent, and safe while opening. */
  close(): Promise<void>;
  health(): RegistryHealth;
}
