import { createHash } from 'node:crypto';
import { JustfnError } from '../../runtime/errors.js';
import { checkStringChars } from './cloudevents-attributes.js';
import { encodingOf } from './cloudevents-data.js';
import { encodeHeaderValue, needsEncoding } from './cloudevents-header-value.js';
import { isJsonMediaType, parseMediaType } from './cloudevents-media-type.js';
import { toCloudEventJson } from './cloudevents-structured.js';
import { CE_MEDIA_TYPE, type CloudEventJson, show } from './cloudevents-types.js';
import type { HttpResponse } from './request.js';

/**
 * The `source` of a reply event when {@link ReplyOptions.replySource} is not given.
 *
 * @example
 * toCloudEventResponse(1, incoming, {}).headers['ce-source'] === DEFAULT_REPLY_SOURCE // true
 */
export const DEFAULT_REPLY_SOURCE = 'urn:justfn:function';

/**
 * How a handler's plain result is wrapped into a reply CloudEvent.
 *
 * @example
 * const options: ReplyOptions = { replySource: '/users', replyType: 'user.saved' };
 */
export interface ReplyOptions {
  /** `type` of the reply; default `<incoming type>.response`. */
  replyType?: string | undefined;
  /** `source` of the reply; default {@link DEFAULT_REPLY_SOURCE}. */
  replySource?: string | undefined;
}

/** justfn's namespace for {@link replyId}'s name-based UUIDs. */
const REPLY_NAMESPACE = Buffer.from('4a7f1c0e9d3b4e21a6c58f2d0b1e7a93', 'hex');

/**
 * The `id` of the reply to `incoming`: a name-based UUID (version 5, RFC 9562 §5.5) of the incoming
 * event's `source` and `id`, which identify it (CloudEvents §id). An event delivered again (Eventing is
 * at-least-once) gets a reply with the same id, which a receiver deduplicating on `source` + `id` drops.
 *
 * @example
 * replyId({ specversion: '1.0', id: '1', source: '/orders', type: 'order.created' }); // the same UUID every time
 */
export function replyId(incoming: CloudEventJson): string {
  // A control character cannot be in either (CloudEvents String): the newline keeps the pair unambiguous.
  const hash = createHash('sha1')
    .update(REPLY_NAMESPACE)
    .update(`${incoming.source}\n${incoming.id}`)
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const NON_ASCII = /[\u0080-\uffff]/;
const NOT_LATIN1 = /[\u0080-\u009f\u0100-\uffff]/;
const ACCEPTED: HttpResponse = Object.freeze({ statusCode: 202, headers: Object.freeze({}), body: '' });

/**
 * Turns a handler's result for a CloudEvent into the HTTP response Knative Eventing expects (data-plane
 * §Reply events): `null`/`undefined` → 202, empty body; a CloudEvent (has `specversion`, `id`, `source`,
 * `type`; a plain object or an SDK `CloudEvent`) → 200 with it in binary mode (HTTP binding §3.1);
 * anything else → 200 with a reply event carrying it as `data` (`text/plain; charset=utf-8` for a
 * string, `application/octet-stream` for bytes, `application/json` otherwise). Never a 2xx with a
 * non-CloudEvent body: Knative's broker turns that into a retried 502. Throws
 * `JustfnError('BAD_HANDLER_RESULT')` for an invalid reply event and `'STRINGIFY_RESULT'` for data
 * that JSON cannot hold.
 *
 * @example
 * toCloudEventResponse({ ok: true }, incoming, { requestId: 'c0ffee', replySource: '/users' })
 * // 200, ce-type: <incoming type>.response, content-type: application/json, body '{"ok":true}'
 */
export function toCloudEventResponse(
  result: unknown,
  incoming: CloudEventJson,
  options: ReplyOptions,
): HttpResponse {
  if (result === null || result === undefined) return { ...ACCEPTED, headers: {} };
  return isCloudEventShaped(result) ? toBinaryResponse(result) : toWrappedResponse(result, incoming, options);
}

/** Bytes a handler can return: a `Buffer`, any typed array or `DataView`, an `ArrayBuffer` (`fetch`'s). */
function bytesOf(value: unknown): Buffer | undefined {
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return Buffer.from(value);
  return undefined;
}

function isBytes(value: unknown): boolean {
  return bytesOf(value) !== undefined;
}

function isCloudEventShaped(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isBytes(value)) return false;
  const v = value as Record<string, unknown>;
  return v.specversion !== undefined && v.id !== undefined && v.source !== undefined && v.type !== undefined;
}

function replyAttribute(name: string, value: string): string {
  if (value === '')
    throw new JustfnError('BAD_HANDLER_RESULT', `reply CloudEvent: ${name}: must not be empty`);
  if (!needsEncoding(value)) return value;
  try {
    checkStringChars(name, value);
  } catch (error) {
    throw new JustfnError('BAD_HANDLER_RESULT', `reply CloudEvent: ${(error as Error).message}`);
  }
  return encodeHeaderValue(value);
}

// The reply we build ourselves: only the three strings from outside need checking, so skip the
// generic path (it measured twice as slow, and every event with a result pays it).
function toWrappedResponse(result: unknown, incoming: CloudEventJson, options: ReplyOptions): HttpResponse {
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': replyId(incoming),
    'ce-source': replyAttribute('source', options.replySource ?? DEFAULT_REPLY_SOURCE),
    'ce-type': replyAttribute('type', options.replyType ?? `${incoming.type}.response`),
    'content-type': 'application/json',
  };
  if (typeof result === 'string') {
    headers['content-type'] = 'text/plain; charset=utf-8';
    return { statusCode: 200, headers, body: result };
  }
  const bytes = bytesOf(result);
  if (bytes !== undefined) {
    headers['content-type'] = 'application/octet-stream';
    return { statusCode: 200, headers, body: bytes };
  }
  return { statusCode: 200, headers, body: stringify(result) };
}

// A JSON-shaped copy to validate; binary data set aside. The SDK keeps `data_base64` beside a typed
// array `data` (a lossy Uint32Array when built from base64), so `data_base64` wins when both are there.
function normalize(source: Record<string, unknown>): { attributes: Record<string, unknown>; bytes?: Buffer } {
  const attributes: Record<string, unknown> = {};
  let bytes: Buffer | undefined;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value === undefined) continue;
    if (key === 'data' && isBytes(value)) {
      if (typeof source.data_base64 !== 'string') bytes = bytesOf(value);
      continue;
    }
    attributes[key] = value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : value;
  }
  return bytes === undefined ? { attributes } : { attributes, bytes };
}

function toBinaryResponse(source: Record<string, unknown>): HttpResponse {
  const { attributes, bytes } = normalize(source);
  try {
    toCloudEventJson(attributes, '');
  } catch (error) {
    // No `cause`: it is the same message, which the log's error serializer would print twice.
    throw new JustfnError('BAD_HANDLER_RESULT', `reply CloudEvent: ${(error as Error).message}`);
  }
  const headers: Record<string, string> = {};
  for (const key in attributes) {
    if (key === 'data' || key === 'data_base64' || key === 'datacontenttype') continue;
    headers[`ce-${key}`] = encodeHeaderValue(String(attributes[key]));
  }
  const declared = attributes.datacontenttype as string | undefined;
  // Such a Content-Type marks structured mode: the receiver would take the data for the event.
  if (declared !== undefined && CE_MEDIA_TYPE.test(declared)) {
    throw new JustfnError(
      'BAD_HANDLER_RESULT',
      `reply CloudEvent: datacontenttype: ${show(declared)} cannot go in binary mode, where the receiver would read the data as the event`,
    );
  }
  let body: Buffer | string = '';
  if (bytes !== undefined) body = bytes;
  else if (typeof attributes.data_base64 === 'string') body = Buffer.from(attributes.data_base64, 'base64');
  else if (Object.hasOwn(attributes, 'data')) {
    // json-format.md §3.1.2: an absent datacontenttype means application/json; say so explicitly.
    headers['content-type'] = declared ?? 'application/json';
    return { statusCode: 200, headers, body: encodeData(attributes.data, declared ?? 'application/json') };
  }
  if (declared !== undefined) headers['content-type'] = declared;
  return { statusCode: 200, headers, body };
}

function encodeData(data: unknown, contentType: string): string | Buffer {
  const type = parseMediaType(contentType);
  if (type !== undefined && isJsonMediaType(type.essence)) return stringify(data);
  // Validated above: non-JSON data is a string. Node writes strings as UTF-8.
  const text = data as string;
  const charset = type?.charset;
  // `binary` (file --mime's word for bytes) declares no text encoding: read as none, as on input.
  if (charset === undefined || charset === 'utf-8' || charset === 'binary') return text;
  const ascii = charset === 'us-ascii' || charset === 'ascii';
  const encoding = ascii ? 'us-ascii' : encodingOf(charset);
  if (encoding === 'utf-8') return text;
  // ASCII is the same bytes in every charset but UTF-16's (and the "replacement" of ISO-2022-KR and kin).
  const asciiSafe = encoding !== undefined && !encoding.startsWith('utf-16') && encoding !== 'replacement';
  if (asciiSafe && !NON_ASCII.test(text)) return text;
  // Latin-1 (`windows-1252` to WHATWG): its bytes are the code points, bar the C1 range windows-1252 remaps.
  if (encoding === 'windows-1252' && !NOT_LATIN1.test(text)) return Buffer.from(text, 'latin1');
  throw new JustfnError(
    'BAD_HANDLER_RESULT',
    `reply CloudEvent: data cannot be sent as charset ${show(charset)}`,
  );
}

function stringify(data: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (error) {
    throw new JustfnError('STRINGIFY_RESULT', `reply data: ${(error as Error).message}`, { cause: error });
  }
  if (text === undefined) throw new JustfnError('STRINGIFY_RESULT', `reply data: ${typeof data} is not JSON`);
  return text;
}

// Knative data-plane §Response codes: what the sender retries.
function isRetried(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/**
 * The response for a batch, given the response each event's invocation produced: 202 with an empty
 * body when all succeeded (replies in a batch are dropped: a 202 is never routed as a reply), otherwise
 * the first failure the sender retries (5xx, 404, 408, 409, 429), else the first failure. A retry
 * re-delivers the whole batch; Eventing is at-least-once, so handlers already tolerate duplicates.
 *
 * @example
 * toBatchResponse(events.map((event) => toCloudEventResponse(results.get(event), event, options)))
 */
export function toBatchResponse(responses: readonly HttpResponse[]): HttpResponse {
  let failed: HttpResponse | undefined;
  for (const response of responses) {
    const status = response.statusCode;
    if (status >= 200 && status <= 299) continue;
    if (isRetried(status)) return response;
    failed ??= response;
  }
  return failed ?? { ...ACCEPTED, headers: {} };
}

/**
 * The response for a CloudEvent the runtime refused (400 `INVALID_CLOUDEVENT`, 415
 * `UNSUPPORTED_MEDIA_TYPE`): the error's status and a JSON body `{"errorType", "errorMessage"}`.
 *
 * @example
 * toCloudEventErrorResponse(new JustfnError('INVALID_CLOUDEVENT', 'ce-source: required header is missing'))
 * // 400, body {"errorType":"CloudEvents.Invalid","errorMessage":"ce-source: required header is missing"}
 */
export function toCloudEventErrorResponse(error: JustfnError): HttpResponse {
  return {
    statusCode: error.status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ errorType: error.name, errorMessage: error.message }),
  };
}
