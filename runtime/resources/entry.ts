import { redactSecrets, redactUrl, secretForms } from '../config/redact.js';
import type { ResourceConfig } from '../config/service-config.js';
import type { Resource, ResourceContext, ResourceFactory, ResourceState } from './resource.js';
import { describeCause, ResourceError } from './resource-error.js';
import { withTimeout } from './timing.js';

// Each kind loads only when a resource of that kind is declared: pg, @grpc/grpc-js and undici's Pool cost
// start-up time that a function without them must not pay.
const factories: {
  [K in ResourceConfig['kind']]: () => Promise<ResourceFactory<Extract<ResourceConfig, { kind: K }>>>;
} = {
  postgres: () => import('./postgres.js').then((kind) => kind.createPostgresResource),
  grpc: () => import('./grpc.js').then((kind) => kind.createGrpcResource),
  http: () => import('./http.js').then((kind) => kind.createHttpResource),
};

/**
 * Loads the code of these kinds now rather than at their first `open()`, which then finds it loaded; a
 * kind that fails to load fails again, with its message, when it opens.
 */
export async function loadKinds(kinds: Iterable<ResourceConfig['kind']>): Promise<void> {
  await Promise.allSettled([...new Set(kinds)].map((kind) => factories[kind]()));
}

/**
 * The health of one resource, as `health()` and `onState` report it.
 *
 * @example
 * const db: ResourceHealth = registry.health().resources.db!;
 */
export interface ResourceHealth {
  kind: ResourceConfig['kind'];
  state: ResourceState;
  /** Open, and the last open, check or refresh succeeded. */
  healthy: boolean;
  /** Where it connects; a password is masked and secret values are removed. */
  target: string;
  /** Why it is not healthy, when it is not. */
  error?: string;
  /** Open attempts in the current opening (1 once open at the first try). */
  attempts: number;
  /** When `state` last changed (epoch ms). */
  since: number;
}

/**
 * One declared resource inside the registry: its config, the current instance of its kind (a new one per
 * open), and its health. Each operation checks that the instance it started with is still current before
 * it records a result, so a late answer never overwrites a newer state.
 *
 * @example
 * const entry = new Entry('db', config, context, secrets, notify);
 * await entry.open(signal);
 */
export class Entry {
  resource: Resource | undefined;
  readonly health: ResourceHealth;
  private readonly secrets: string[];

  constructor(
    readonly name: string,
    readonly config: ResourceConfig,
    private readonly context: ResourceContext,
    secrets: ReadonlySet<string>,
    private readonly notify: () => void,
  ) {
    this.secrets = [...secrets, ...('url' in config ? secretForms(config.url) : [])];
    const target =
      'url' in config ? redactUrl(config.url) : 'origin' in config ? config.origin : config.target;
    this.health = {
      kind: config.kind,
      state: 'closed',
      healthy: false,
      target: '',
      attempts: 0,
      since: Date.now(),
    };
    this.health.target = redactSecrets(target, this.secrets);
  }

  /** Builds a new instance and opens it; on failure closes it and throws a {@link ResourceError}. */
  async open(signal: AbortSignal, permanent?: (error: ResourceError) => void): Promise<void> {
    if (this.resource && this.health.state === 'open') return;
    // Date.now(), not performance.now(): the first read of `performance` loads Node's perf_hooks (~1 ms).
    const started = Date.now();
    this.health.attempts += 1;
    this.set('opening', false);
    let resource: Resource;
    try {
      const factory = (await factories[this.config.kind]()) as ResourceFactory;
      resource = factory(this.config, this.context);
    } catch (cause) {
      const error = this.error('cannot be set up', cause);
      permanent?.(error);
      this.set('failed', false, error.message);
      throw error;
    }
    this.resource = resource;
    this.health.target = redactSecrets(resource.target, this.secrets);
    try {
      await this.bounded('open', signal, (s) => resource.open(s));
      const { name, config, health } = this;
      const ms = Date.now() - started;
      this.context.log.info(
        { resource: name, kind: config.kind, target: health.target, ms },
        `resource '${name}' open`,
      );
      this.set('open', true);
    } catch (error) {
      this.resource = undefined;
      await this.closeQuietly(resource);
      this.set('failed', false, (error as Error).message);
      throw error;
    }
  }

  /** A health check or a refresh; records the outcome, never throws. */
  async probe(action: 'check' | 'refresh', signal: AbortSignal): Promise<void> {
    const resource = this.resource;
    if (!resource || this.health.state !== 'open') return;
    try {
      await this.bounded(action, signal, (s) => resource[action](s));
      if (this.resource === resource && !this.health.healthy) {
        this.context.log.info(
          { resource: this.name, kind: this.config.kind },
          `resource '${this.name}' is healthy again`,
        );
        this.set('open', true);
      }
    } catch (error) {
      if (this.resource !== resource) return;
      const { message } = error as Error;
      // Once per transition: readiness probes may check every few seconds.
      if (this.health.healthy || action === 'refresh') {
        this.context.log.warn({ resource: this.name, kind: this.config.kind, err: message }, message);
      }
      this.set('open', false, message);
    }
  }

  /** Closes the current instance, if any; never throws. */
  async close(): Promise<void> {
    const resource = this.resource;
    this.resource = undefined;
    if (!resource) return this.set('closed', false);
    this.set('closing', false);
    // A close that failed said so already (closeQuietly's warning): not "closed" on top of it.
    if (await this.closeQuietly(resource))
      this.context.log.info(
        { resource: this.name, kind: this.config.kind },
        `resource '${this.name}' closed`,
      );
    this.set('closed', false);
  }

  /** Records a state; `error` is kept only while unhealthy. */
  set(state: ResourceState, healthy: boolean, error?: string): void {
    if (this.health.state !== state) this.health.since = Date.now();
    this.health.state = state;
    this.health.healthy = healthy;
    if (error === undefined) delete this.health.error;
    else this.health.error = error;
    this.notify();
  }

  /** A {@link ResourceError} naming this resource, its kind and target, and the cause, without secrets. */
  error(what: string, cause: unknown): ResourceError {
    const message = `resource '${this.name}' (${this.config.kind}, ${this.health.target}): ${what}: ${describeCause(cause, this.secrets)}`;
    return new ResourceError(this.name, this.config.kind, message, { cause });
  }

  private bounded(
    action: string,
    signal: AbortSignal,
    task: (s: AbortSignal) => Promise<void>,
  ): Promise<void> {
    // The kinds apply the timeout to each step themselves, with a precise message; this bound is the
    // backstop, a little later so that their message wins.
    const ms = this.context.timeoutMs + Math.min(this.context.timeoutMs, 1000);
    const what = action === 'open' ? 'cannot open' : `${action} failed`;
    return withTimeout(task, ms, signal, () => new Error(`timed out after ${ms} ms`)).catch(
      (cause: unknown) => {
        if (!signal.aborted) throw this.error(what, cause);
        throw this.error(what, new Error(action === 'open' ? 'closed while opening' : 'closed'));
      },
    );
  }

  /** Closes `resource`; a failure is logged, never thrown. Resolves whether it closed cleanly. */
  private async closeQuietly(resource: Resource): Promise<boolean> {
    const ms = this.context.timeoutMs;
    try {
      await withTimeout(
        () => resource.close(),
        ms,
        undefined,
        () => new Error(`timed out after ${ms} ms`),
      );
      return true;
    } catch (error) {
      this.context.log.warn(
        { resource: this.name, kind: this.config.kind, err: describeCause(error, this.secrets) },
        `resource '${this.name}': close failed`,
      );
      return false;
    }
  }
}
