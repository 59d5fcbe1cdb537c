import type { ResourceConfig } from '../config/service-config.js';
import { JustfnError } from '../errors.js';
import { Entry } from './entry.js';
import type { ResourceLog } from './resource.js';
import { ResourceError } from './resource-error.js';
import {
  DEFAULT_IDLE_MS,
  DEFAULT_OPEN_TIMEOUT_MS,
  type RegistryHealth,
  type RegistryOptions,
  type ResourceRegistry,
  type RetryOptions,
} from './resource-registry.js';
import { createResourcesObject } from './resources-object.js';
import { retryOpen } from './retry-open.js';
import { anySignal } from './timing.js';

export { loadKinds } from './entry.js';

/**
 * Creates the registry for `justfn.yaml`'s `resources:`. Nothing connects until `open()`.
 *
 * @example
 * const { config, baseDir, secrets } = loadServiceConfig(file, env);
 * const registry = createResourceRegistry<Resources>(config.resources, { baseDir, secrets, log });
 */
export function createResourceRegistry<R extends object = Record<string, unknown>>(
  declared: Readonly<Record<string, ResourceConfig>>,
  options: RegistryOptions,
): ResourceRegistry<R> {
  return new Registry<R>(declared, options);
}

type Phase = 'closed' | 'opening' | 'open' | 'closing';

class Registry<R extends object> implements ResourceRegistry<R> {
  readonly resources: R;
  private readonly entries: Entry[];
  private readonly log: ResourceLog;
  private readonly listeners = new Set<(health: RegistryHealth) => void>();
  private phase: Phase = 'closed';
  /** Aborted by `close()`: stops openings, retries and refreshes in flight. */
  private lifetime = new AbortController();
  private opening: Promise<unknown> | undefined;
  private closing: Promise<void> | undefined;
  private refreshing: Promise<boolean> | undefined;
  /** Wall clock, not a timer: timers do not run while Lambda has the process frozen. */
  private lastUsedAt = Date.now();
  /** Invocations between {@link ensureFresh} and {@link markUsed}. */
  private running = 0;

  constructor(declared: Readonly<Record<string, ResourceConfig>>, options: RegistryOptions) {
    this.log = options.log;
    if (options.onState) this.listeners.add(options.onState);
    this.entries = Object.entries(declared).map(([name, config]) => {
      const timeoutMs = config.timeout !== undefined ? config.timeout * 1000 : options.openTimeoutMs;
      const context = {
        name,
        baseDir: options.baseDir,
        log: options.log,
        timeoutMs: timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
        applicationName: options.applicationName ?? 'justfn',
      };
      return new Entry(name, config, context, options.secrets ?? new Set(), () => this.notify());
    });
    const byName = new Map(this.entries.map((e) => [e.name, e]));
    this.resources = createResourcesObject<R>([...byName.keys()], (name) => clientOf(byName.get(name), name));
  }

  health(): RegistryHealth {
    const live = this.phase === 'open' || this.phase === 'opening';
    const ready = live && this.entries.every((e) => e.health.state === 'open' && e.health.healthy);
    return { ready, resources: Object.fromEntries(this.entries.map((e) => [e.name, { ...e.health }])) };
  }

  open(): Promise<void> {
    if (this.phase === 'open') return Promise.resolve();
    if (this.phase === 'closing') {
      return Promise.reject(new JustfnError('RESOURCE_UNAVAILABLE', 'resources are closing'));
    }
    if (this.phase === 'opening' && this.opening) return this.opening.then(() => this.mustBeOpen());
    this.phase = 'opening';
    const run = this.openAll();
    this.opening = run;
    return run;
  }

  async openWithRetry(retry: RetryOptions = {}): Promise<boolean> {
    if (this.phase === 'open') return true;
    if (this.phase === 'closing') return false;
    if (this.phase === 'opening' && this.opening) {
      return this.opening.then(
        () => this.phase === 'open',
        () => false,
      );
    }
    this.phase = 'opening';
    if (retry.onState) this.listeners.add(retry.onState);
    const run = this.retryAll(retry);
    this.opening = run;
    try {
      return await run;
    } finally {
      if (retry.onState) this.listeners.delete(retry.onState);
    }
  }

  async check(): Promise<RegistryHealth> {
    await Promise.all(this.entries.map((entry) => entry.probe('check', this.lifetime.signal)));
    return this.health();
  }

  ensureFresh(idleMs = DEFAULT_IDLE_MS): Promise<boolean> {
    // Another invocation still running (Managed Instances) means no freeze since: Lambda freezes an
    // environment only with nothing in flight, and that invocation is using the clients a refresh would
    // close under it.
    const busy = this.running > 0;
    this.running++;
    if (this.refreshing) return this.refreshing;
    const now = Date.now();
    const idle = now - this.lastUsedAt;
    this.lastUsedAt = now;
    if (this.phase !== 'open' || idle < idleMs || busy) return Promise.resolve(false);
    this.log.info(
      { idleMs: idle },
      `resources idle for ${idle} ms: re-validating before the next invocation`,
    );
    const signal = this.lifetime.signal;
    this.refreshing = Promise.all(this.entries.map((entry) => entry.probe('refresh', signal))).then(() => {
      this.refreshing = undefined;
      this.lastUsedAt = Date.now();
      return true;
    });
    return this.refreshing;
  }

  /** An invocation that began with {@link ensureFresh} ended. */
  markUsed(): void {
    this.running = Math.max(this.running - 1, 0);
    this.lastUsedAt = Date.now();
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.phase === 'closed' && !this.entries.some((e) => e.resource)) return Promise.resolve();
    this.phase = 'closing';
    this.lifetime.abort(new Error('closing'));
    this.closing = this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    await Promise.allSettled([this.opening, this.refreshing]);
    for (const entry of [...this.entries].reverse()) await entry.close();
    this.lifetime = new AbortController();
    this.opening = undefined;
    this.phase = 'closed';
    this.closing = undefined;
    this.notify();
  }

  private async openAll(): Promise<void> {
    const signal = this.lifetime.signal;
    for (const entry of this.entries) entry.health.attempts = 0;
    const results = await Promise.allSettled(this.entries.map((entry) => entry.open(signal)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ResourceError] : []));
    if (failures.length === 0) return this.opened();
    for (const { resource, kind, message } of failures) this.log.error({ resource, kind }, message);
    if (this.phase === 'opening') {
      // All or nothing: Lambda reports the failure and exits; a caller that retries starts clean.
      for (const entry of [...this.entries].reverse()) if (entry.resource) await entry.close();
      this.phase = 'closed';
    }
    throw ResourceError.combine(failures);
  }

  private async retryAll(retry: RetryOptions): Promise<boolean> {
    try {
      await retryOpen(this.entries, anySignal([this.lifetime.signal, retry.signal]), retry, this.log);
    } finally {
      // Stopped early: what opened stays open for close(); open() may be called again.
      if (this.phase === 'opening' && !this.entries.every((e) => e.health.state === 'open')) {
        this.phase = 'closed';
      }
    }
    this.opened();
    return this.phase === 'open';
  }

  private opened(): void {
    if (this.phase !== 'opening') return;
    this.phase = 'open';
    this.lastUsedAt = Date.now();
    this.log.info({ resources: this.entries.map((e) => e.name) }, 'resources open');
    this.notify();
  }

  private mustBeOpen(): void {
    if (this.phase !== 'open') throw new JustfnError('RESOURCE_UNAVAILABLE', 'resources did not open');
  }

  private notify(): void {
    const snapshot = this.health();
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (error) {
        this.log.error({ err: (error as Error).message }, 'an onState listener threw');
      }
    }
  }
}

function clientOf(entry: Entry | undefined, name: string): unknown {
  if (entry?.resource && entry.health.state === 'open') return entry.resource.client;
  const reason = entry?.health.error ? `: ${entry.health.error}` : '';
  throw new JustfnError(
    'RESOURCE_UNAVAILABLE',
    `context.resources.${name}: resource '${name}' is not open (${entry?.health.state ?? 'unknown'}${reason})`,
  );
}
