import { JustfnError } from './errors.js';

/**
 * The bytes of a buffered result: `JSON.stringify(result ?? null)`, as AWS's runtime sends it. A result
 * that cannot be stringified (a cycle, a BigInt) is an invocation error, not a crash.
 *
 * @example
 * stringifyResult(undefined) // 'null'
 */
export function stringifyResult(value: unknown): string {
  try {
    return JSON.stringify(value ?? null) ?? 'null';
  } catch (error) {
    throw new JustfnError('STRINGIFY_RESULT', 'Unable to stringify response body', { cause: error });
  }
}
