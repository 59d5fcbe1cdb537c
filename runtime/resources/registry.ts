import type { ResourceConfig } from '../config/service-config.js';
import { JustfnError } from '../errors.js';
import { Entry } from './entry.js';
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

type Phase = 'closed' | 'opening' | 'open' | 'closing';

/**
 * Creates the registry for `justfn.yaml`'s `resources:`. Nothing connects until `open()`.
 *
 * @example
 * const { config, baseDir, secrets } = loadServiceConfig(file, env);
 * const registry = createResourceRegistry(config.resources, { baseDir, secrets, log });
 */
export function createResourceRegistry<R extends object = Record<string, unknown>>(
  declared: Readonly<Record<string, ResourceConfig>>,
  options: RegistryOptions,
): ResourceRegistry<R> {
  const { log } = options;
  const listeners = new Set<(health: RegistryHealth) => void>(options.onState ? [options.onState] : []);
  const entries: Entry[] = Object.entries(declared).map(([name, config]) => {
    const timeoutMs = config.timeout !== undefined ? config.timeout * 1000 : options.openTimeoutMs;
    const context = {
      name,
      baseDir: options.baseDir,
      log,
      timeoutMs: timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
      applicationName: options.applicationName ?? 'justfn',
    };
    return new Entry(name, config, context, options.secrets ?? new Set(), () => notify());
  });
  const byName = new Map(entries.map((e) => [e.name, e]));
  let phase: Phase = 'closed';
  let lifetime = new AbortController();
  let opening: Promise<unknown> | undefined;
  let closing: Promise<void> | undefined;
  let refreshing: Promise<boolean> | undefined;
  let lastUsedAt = Date.now();

  function health(): RegistryHealth {
    const live = phase === 'open' || phase === 'opening';
    const ready = live && entries.every((e) => e.health.state === 'open' && e.health.healthy);
    return { ready, resources: Object.fromEntries(entries.map((e) => [e.name, { ...e.health }])) };
  }

  function notify(): void {
    const snapshot = health();
    for (const listener of listeners) {
      try {
        listener(snapshot);
      } catch (error) {
        log.error({ err: (error as Error).message }, 'an onState listener threw');
      }
    }
  }

  function opened(): void {
    if (phase !== 'opening') return;
    phase = 'open';
    lastUsedAt = Date.now();
    log.info({ resources: [...byName.keys()] }, 'resources open');
    notify();
  }

  async function closeOpened(): Promise<void> {
    for (const entry of [...entries].reverse()) if (entry.resource) await entry.close();
  }

  async function openAll(): Promise<void> {
    const signal = lifetime.signal;
    for (const entry of entries) entry.health.attempts = 0;
    const results = await Promise.allSettled(entries.map((entry) => entry.open(signal)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ResourceError] : []));
    if (failures.length === 0) return opened();
    for (const failure of failures)
      log.error({ resource: failure.resource, kind: failure.kind }, failure.message);
    if (phase === 'opening') {
      await closeOpened();
      phase = 'closed';
    }
    throw ResourceError.combine(failures);
  }

  async function retryAll(retry: RetryOptions): Promise<boolean> {
    await retryOpen(entries, anySignal([lifetime.signal, retry.signal]), retry, log);
    if (!entries.every((e) => e.health.state === 'open')) return false;
    opened();
    return phase === 'open';
  }

  function clientOf(name: string): unknown {
    const entry = byName.get(name);
    if (entry?.resource && entry.health.state === 'open') return entry.resource.client;
    const state = entry
      ? `${entry.health.state}${entry.health.error ? `: ${entry.health.error}` : ''}`
      : 'unknown';
    throw new JustfnError(
      'RESOURCE_UNAVAILABLE',
      `context.resources.${name}: resource '${name}' is not open (${state})`,
    );
  }

  const registry: ResourceRegistry<R> = {
    resources: createResourcesObject<R>([...byName.keys()], clientOf),
    health,
    open() {
      if (phase === 'open') return Promise.resolve();
      if (phase === 'closing')
        return Promise.reject(new JustfnError('RESOURCE_UNAVAILABLE', 'resources are closing'));
      if (phase === 'opening' && opening) return opening.then(() => undefined);
      phase = 'opening';
      const run = openAll();
      opening = run;
      return run;
    },
    async openWithRetry(retry = {}) {
      if (phase === 'open') return true;
      if (phase === 'closing') return false;
      if (phase === 'opening' && opening)
        return opening.then(
          () => phase === 'open',
          () => false,
        );
      phase = 'opening';
      if (retry.onState) listeners.add(retry.onState);
      const run = retryAll(retry);
      opening = run;
      try {
        return await run;
      } finally {
        if (retry.onState) listeners.delete(retry.onState);
      }
    },
    async check() {
      await Promise.all(entries.map((entry) => entry.probe('check', lifetime.signal)));
      return health();
    },
    ensureFresh(idleMs = DEFAULT_IDLE_MS) {
      if (refreshing) return refreshing;
      const now = Date.now();
      const idle = now - lastUsedAt;
      lastUsedAt = now;
      if (phase !== 'open' || idle < idleMs) return Promise.resolve(false);
      log.info({ idleMs: idle }, `resources idle for ${idle} ms: re-validating before the next invocation`);
      refreshing = Promise.all(entries.map((entry) => entry.probe('refresh', lifetime.signal))).then(() => {
        refreshing = undefined;
        lastUsedAt = Date.now();
        return true;
      });
      return refreshing;
    },
    markUsed() {
      lastUsedAt = Date.now();
    },
    close() {
      if (closing) return closing;
      if (phase === 'closed' && !entries.some((e) => e.resource)) return Promise.resolve();
      phase = 'closing';
      lifetime.abort(new Error('closing'));
      closing = (async () => {
        await Promise.allSettled([opening, refreshing]);
        for (const entry of [...entries].reverse()) await entry.close();
        lifetime = new AbortController();
        opening = undefined;
        phase = 'closed';
        closing = undefined;
        notify();
      })();
      return closing;
    },
  };
  return registry;
}
