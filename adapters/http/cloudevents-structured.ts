import {
  checkStringChars,
  isAttributeName,
  isBase64,
  isRfc3339,
  REQUIRED_ATTRIBUTES,
} from './cloudevents-attributes.js';
import { parseJsonBody } from './cloudevents-data.js';
import { isJsonMediaType, type MediaType, parseMediaType } from './cloudevents-media-type.js';
import { type CloudEventJson, invalidCloudEvent, show } from './cloudevents-types.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function requireString(event: Record<string, unknown>, key: string, at: string): string {
  const value = event[key];
  if (typeof value !== 'string') throw invalidCloudEvent(`${at}${key}: must be a string, got ${show(value)}`);
  checkStringChars(`${at}${key}`, value);
  return value;
}

function requireNonEmpty(event: Record<string, unknown>, key: string, at: string): void {
  if (requireString(event, key, at) === '') throw invalidCloudEvent(`${at}${key}: must not be empty`);
}

// CloudEvents 1.0.2 §Type System via json-format.md §2.2: String, Boolean or a 32-bit Integer.
function checkExtension(event: Record<string, unknown>, key: string, at: string): void {
  if (!isAttributeName(key)) {
    throw invalidCloudEvent(`${at}${key}: invalid attribute name, only a-z and 0-9 are allowed`);
  }
  const value = event[key];
  if (typeof value === 'string') checkStringChars(`${at}${key}`, value);
  else if (typeof value === 'boolean') return;
  else if (!Number.isInteger(value) || (value as number) < INT32_MIN || (value as number) > INT32_MAX) {
    throw invalidCloudEvent(`${at}${key}: must be a string, boolean or 32-bit integer, got ${show(value)}`);
  }
}

function checkMember(event: Record<string, unknown>, key: string, at: string): void {
  switch (key) {
    case 'specversion':
    case 'id':
    case 'source':
    case 'type':
    case 'data':
      return;
    case 'subject':
    case 'dataschema':
      requireNonEmpty(event, key, at);
      return;
    case 'time':
      if (!isRfc3339(requireString(event, key, at))) {
        throw invalidCloudEvent(`${at}time: not an RFC 3339 timestamp: ${show(event.time)}`);
      }
      return;
    case 'datacontenttype':
      if (parseMediaType(requireString(event, key, at)) === undefined) {
        throw invalidCloudEvent(`${at}datacontenttype: not a media type: ${show(event.datacontenttype)}`);
      }
      return;
    case 'data_base64':
      if (!isBase64(requireString(event, key, at)))
        throw invalidCloudEvent(`${at}data_base64: invalid base64`);
      return;
    default:
      checkExtension(event, key, at);
  }
}

function checkData(event: Record<string, unknown>, at: string): void {
  // json-format.md §3.1.1: data and data_base64 are mutually exclusive.
  if (event.data_base64 !== undefined && Object.hasOwn(event, 'data')) {
    throw invalidCloudEvent(`${at}data_base64: must not be present together with data`);
  }
  const type = event.datacontenttype;
  if (typeof type !== 'string' || !Object.hasOwn(event, 'data') || typeof event.data === 'string') return;
  // json-format.md §3.1.2: non-JSON data is an encoded content string.
  const essence = parseMediaType(type)?.essence ?? '';
  if (!isJsonMediaType(essence))
    throw invalidCloudEvent(`${at}data: must be a string for datacontenttype ${show(type)}`);
}

/**
 * Validates one event in the JSON format (json-format.md) and returns it: `specversion` exactly `1.0`,
 * required attributes present and non-empty strings, optional ones well-formed, extension names and
 * values legal, `null` members dropped as unset (json-format.md §2.2; `data: null` is kept, §3.1.1).
 * `at` prefixes every message (`events[3].`); the object is reused, not copied.
 *
 * @example
 * toCloudEventJson({ specversion: '1.0', id: '1', source: '/s', type: 't', data: null }, '')
 */
export function toCloudEventJson(value: unknown, at: string): CloudEventJson {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidCloudEvent(
      `${at === '' ? 'body' : at.slice(0, -1)}: must be a JSON object, got ${show(value)}`,
    );
  }
  const event = value as Record<string, unknown>;
  for (const key in event) {
    if (event[key] === null && key !== 'data') delete event[key];
  }
  if (event.specversion === undefined) throw invalidCloudEvent(`${at}specversion: required`);
  if (event.specversion !== '1.0')
    throw invalidCloudEvent(`${at}specversion: must be "1.0", got ${show(event.specversion)}`);
  for (const key of REQUIRED_ATTRIBUTES) {
    if (event[key] === undefined) throw invalidCloudEvent(`${at}${key}: required`);
    requireNonEmpty(event, key, at);
  }
  for (const key in event) checkMember(event, key, at);
  checkData(event, at);
  return event as CloudEventJson;
}

/**
 * Reads a structured-mode body (`application/cloudevents+json`, HTTP binding §3.2): one JSON object.
 *
 * @example
 * parseStructuredEvent(Buffer.from('{"specversion":"1.0","id":"1","source":"/s","type":"t"}'), type, contentType)
 */
export function parseStructuredEvent(body: Buffer, type: MediaType, contentType: string): CloudEventJson {
  if (body.length === 0) throw invalidCloudEvent('body: empty, a structured CloudEvent is a JSON object');
  const value = parseJsonBody(body, type.charset, contentType);
  if (Array.isArray(value)) {
    throw invalidCloudEvent('body: a JSON array is a batch, send it as application/cloudevents-batch+json');
  }
  return toCloudEventJson(value, '');
}

/**
 * Reads a batch body (`application/cloudevents-batch+json`, HTTP binding §3.3, json-format.md §4): a
 * JSON array of structured events, possibly empty. Every element is validated; messages name its index.
 *
 * @example
 * parseBatch(Buffer.from('[]'), type, contentType) // []
 */
export function parseBatch(body: Buffer, type: MediaType, contentType: string): CloudEventJson[] {
  if (body.length === 0) throw invalidCloudEvent('body: empty, a CloudEvents batch is a JSON array');
  const value = parseJsonBody(body, type.charset, contentType);
  if (!Array.isArray(value))
    throw invalidCloudEvent(`body: a batch must be a JSON array, got ${show(value)}`);
  return value.map((element, index) => toCloudEventJson(element, `events[${index}].`));
}
