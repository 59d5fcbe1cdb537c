import { redactSecrets } from '../config/redact.js';
import type { ResourceKind } from '../config/service-config.js';
import { JustfnError } from '../errors.js';

/**
 * A resource could not be opened, checked or refreshed. The message names the resource, its kind and target
 * (password masked) and the cause; secret values are removed from it. With several failures (`open()`),
 * `errors` holds one per resource and the message has one line each.
 *
 * @example
 * try { await registry.open(); } catch (e) { if (e instanceof ResourceError) console.error(e.resource, e.message); }
 */
export class ResourceError extends JustfnError {
  readonly resource: string;
  readonly kind: ResourceKind | undefined;
  declare readonly errors: readonly ResourceError[];

  constructor(
    resource: string,
    kind: ResourceKind | undefined,
    message: string,
    options?: ErrorOptions & { errors?: readonly ResourceError[] },
  ) {
    super('RESOURCE_UNAVAILABLE', message, options);
    this.resource = resource;
    this.kind = kind;
    // Not enumerable: `[this]` refers to itself, and the log formats serialise an error's own
    // enumerable fields — a cycle there turns a structured error line into an inspected blob.
    Object.defineProperty(this, 'errors', { value: options?.errors ?? [this], enumerable: false });
  }

  /**
   * One error for several: the first names the resource, the message lists them all.
   *
   * @example
   * throw ResourceError.combine(failures);
   */
  static combine(errors: readonly ResourceError[]): ResourceError {
    const [first] = errors;
    if (!first) throw new TypeError('ResourceError.combine needs at least one error');
    if (errors.length === 1) return first;
    const message = errors.map((e) => e.message).join('\n');
    return new ResourceError(first.resource, first.kind, message, { errors });
  }
}

// Its own name, whatever a bundler renames the class to: Lambda's JSON log reports `constructor.name`.
Object.defineProperty(ResourceError, 'name', { value: 'ResourceError' });

/**
 * The one-line reason an operation failed, with secrets removed. Node reports a refused connection to a
 * dual-stack name as an AggregateError with an empty message; its parts say more.
 *
 * @example
 * describeCause(new Error('connect ECONNREFUSED 127.0.0.1:5432'), []); // 'connect ECONNREFUSED 127.0.0.1:5432'
 */
export function describeCause(cause: unknown, secrets: Iterable<string>): string {
  return redactSecrets(rawCause(cause), secrets).split('\n')[0] ?? '';
}

function rawCause(cause: unknown): string {
  if (cause instanceof AggregateError && cause.message === '') {
    return cause.errors.map(rawCause).join('; ') || 'unknown error';
  }
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (cause.message) return cause.message;
    return code ?? cause.name;
  }
  return String(cause);
}
