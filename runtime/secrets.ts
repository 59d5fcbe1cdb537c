import { redactSecrets } from './config/redact.js';

let known: readonly string[] = [];

/**
 * Registers the process's secrets (`justfn.yaml`'s substituted values, `LoadedConfig.secrets`): from then
 * on they are masked in every error justfn reports — the error payloads (`/error`, an exposed HTTP error,
 * `justfn invoke`'s output), the X-Ray cause, and the runtime's own error log lines (`Invoke Error`,
 * `Uncaught Exception`, …) — since a client's connection error names its host and port
 * (`connect ECONNREFUSED 10.0.0.7:5432`), and the handler passes it on. What the function logs itself is
 * its own.
 *
 * @example
 * maskInErrors(loadServiceConfig(file, env).secrets);
 */
export function maskInErrors(secrets: Iterable<string>): void {
  known = [...secrets].filter((secret) => secret.length > 0);
}

/**
 * `text` with every registered secret replaced by `[redacted]`; `text` itself when none is registered.
 *
 * @example
 * masked('connect ECONNREFUSED 10.0.0.7:5432'); // 'connect ECONNREFUSED [redacted]' when that is a secret
 */
export function masked(text: string): string {
  return known.length === 0 ? text : redactSecrets(text, known);
}

/** {@link masked} for every string in a JSON-like value (an error's serialized fields), to a small depth. */
export function maskedDeep<T>(value: T, depth = 4): T {
  if (known.length === 0) return value;
  if (typeof value === 'string') return masked(value) as T;
  if (depth === 0 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => maskedDeep(item, depth - 1)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = maskedDeep(item, depth - 1);
  return copy as T;
}
