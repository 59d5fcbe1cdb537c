import { checkBinaryAttributes, isAttributeName } from './cloudevents-attributes.js';
import { setBinaryData } from './cloudevents-data.js';
import { decodeHeaderValue } from './cloudevents-header-value.js';
import { parseMediaType } from './cloudevents-media-type.js';
import { type CloudEventJson, invalidCloudEvent, show } from './cloudevents-types.js';

// Header name → attribute name for the names every delivery carries, as Go (Knative) and HTTP/2 spell
// them: skips lower-casing and hands the object store an internalised key (measured: ~25 ns a header).
const KNOWN_HEADERS = new Map<string, string>();
for (const name of [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'dataschema',
  'knativearrivaltime',
  'traceparent',
  'tracestate',
]) {
  KNOWN_HEADERS.set(`ce-${name}`, name);
  KNOWN_HEADERS.set(`Ce-${name[0]!.toUpperCase()}${name.slice(1)}`, name);
}

/**
 * The attribute a `ce-` header carries: its name after `ce-`, lower-cased (HTTP binding §3.1.3.1).
 *
 * @example
 * attributeNameOf('Ce-Specversion') // 'specversion'
 */
export function attributeNameOf(header: string): string {
  return KNOWN_HEADERS.get(header) ?? header.slice(3).toLowerCase();
}

/**
 * Whether a header name starts with `ce-` in any case (HTTP binding §3.1.3.1), without allocating.
 *
 * @example
 * isCeHeader('Ce-Id') // true
 */
export function isCeHeader(name: string): boolean {
  return (
    name.length >= 3 &&
    (name.charCodeAt(0) | 0x20) === 0x63 &&
    (name.charCodeAt(1) | 0x20) === 0x65 &&
    name.charCodeAt(2) === 0x2d
  );
}

/**
 * Builds a binary-mode event (HTTP binding §3.1) from the `ce-` headers at the given `rawHeaders`
 * indices, the `Content-Type` (the `datacontenttype`, §3.1.1) and the body (the data, §3.1.2).
 * Extension values stay strings: binary mode carries no types.
 *
 * @example
 * parseBinaryEvent(['ce-specversion', '1.0', 'ce-id', '1', 'ce-source', '/s', 'ce-type', 't'], [0, 2, 4, 6], undefined, Buffer.alloc(0))
 */
export function parseBinaryEvent(
  rawHeaders: readonly string[],
  ceIndices: readonly number[],
  contentType: string | undefined,
  body: Buffer,
): CloudEventJson {
  const event: Record<string, unknown> = {};
  for (const i of ceIndices) {
    const name = attributeNameOf(rawHeaders[i]!);
    if (!isAttributeName(name)) {
      throw invalidCloudEvent(`ce-${name}: invalid attribute name, only a-z and 0-9 are allowed`);
    }
    if (name === 'datacontenttype') {
      throw invalidCloudEvent(
        'ce-datacontenttype: must not be present in binary mode, Content-Type carries it',
      );
    }
    // CloudEvents 1.0.2 §Attribute Naming Convention: "data" is reserved.
    if (name === 'data') throw invalidCloudEvent('ce-data: "data" is reserved and cannot be an attribute');
    if (Object.hasOwn(event, name)) throw invalidCloudEvent(`ce-${name}: header repeated`);
    event[name] = decodeHeaderValue(name, rawHeaders[i + 1]!);
  }
  checkBinaryAttributes(event);
  if (contentType === undefined) {
    setBinaryData(event, body, undefined, '');
    return event as CloudEventJson;
  }
  const type = parseMediaType(contentType);
  if (type === undefined) throw invalidCloudEvent(`content-type: not a media type: ${show(contentType)}`);
  event.datacontenttype = contentType;
  setBinaryData(event, body, type, contentType);
  return event as CloudEventJson;
}
