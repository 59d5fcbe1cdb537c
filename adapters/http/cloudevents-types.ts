import { JustfnError } from '../../runtime/errors.js';
import type { CloudEvent } from '../../runtime/handler-types.js';

/**
 * A CloudEvent in the shape of the CloudEvents JSON format (json-format.md §3): the four required
 * attributes, the optional ones, every extension as a top-level member, and `data` (a JSON value or a
 * string) or `data_base64` (binary data), never both.
 *
 * @example
 * const event: CloudEventJson = { specversion: '1.0', id: '1', source: '/orders', type: 'order.created', data: { n: 1 } };
 */
export type CloudEventJson = CloudEvent; // public as `justfn`'s `CloudEvent`

/**
 * What {@link parseCloudEvents} found: one event (binary or structured mode) or a batch, which the
 * caller runs as one invocation per event.
 *
 * @example
 * const parsed: ParsedCloudEvents = { mode: 'batch', events: [] };
 */
export type ParsedCloudEvents =
  | { mode: 'binary' | 'structured'; event: CloudEventJson }
  | { mode: 'batch'; events: CloudEventJson[] };

/**
 * A Content-Type of the structured or batch modes (HTTP binding §3: "prefixed with application/cloudevents",
 * matched case-insensitively): a request with one is not binary mode, and a binary-mode reply cannot have one.
 */
export const CE_MEDIA_TYPE = /^[ \t]*application\/cloudevents/i;

/**
 * The 400 every malformed CloudEvent gets; the message names the attribute or header and the problem.
 *
 * @example
 * throw invalidCloudEvent('ce-source: required header is missing');
 */
export function invalidCloudEvent(message: string): JustfnError {
  return new JustfnError('INVALID_CLOUDEVENT', message);
}

/**
 * The 415 for a CloudEvents format or charset we cannot read.
 *
 * @example
 * throw unsupportedMediaType('content-type: unsupported CloudEvents format "application/cloudevents+avro"');
 */
export function unsupportedMediaType(message: string): JustfnError {
  return new JustfnError('UNSUPPORTED_MEDIA_TYPE', message);
}

/**
 * A value quoted for an error message, cut short so a huge header cannot bloat the response; objects
 * and arrays are only named, never serialised.
 *
 * @example
 * show('0.3') // '"0.3"'
 */
export function show(value: unknown): string {
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
