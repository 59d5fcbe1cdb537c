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
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    forms.add(secret);
    // As it reads inside a JSON line (Lambda's JSON log format): quotes, backslashes, controls escaped.
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  known = [...forms];
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

/**
 * {@link masked} for every string in a JSON-like value (an error's serialized fields), through arrays and
 * plain objects to a small depth. Anything else (a Date, a Buffer, a class's instance, whatever has a
 * `toJSON`) is left as it is, for the logger to render as it would.
 */
function maskedDeep<T>(value: T, depth = 4): T {
  if (known.length === 0) return value;
  if (typeof value === 'string') return masked(value) as T;
  if (depth === 0 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => maskedDeep(item, depth - 1)) as T;
  const prototype = Object.getPrototypeOf(value);
  if ((prototype !== Object.prototype && prototype !== null) || 'toJSON' in value) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = maskedDeep(item, depth - 1);
  return copy as T;
}

/** {@link maskedDeep} for each own field of `fields`, whatever its prototype (pino's serialized errors have one). */
export function maskedFields(fields: object): Record<string, unknown> {
  if (known.length === 0) return fields as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) copy[key] = maskedDeep(value);
  return copy;
}
