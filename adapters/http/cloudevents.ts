/*
 * The CloudEvents processors of the HTTP source: detection, parsing and validation of Knative Eventing
 * deliveries (CloudEvents 1.0.2 over HTTP, binary, structured and batched modes), and the replies.
 *
 * Hand-written on purpose: the `cloudevents` SDK's `HTTP.toEvent` validates nothing on receive
 * (`new CloudEvent(obj, false)`), invents a missing `id`, `time` and `specversion`, does no
 * percent-decoding of `ce-` headers (HTTP binding §3.1.3.2), parses JSON only for a few exact
 * content-type strings and is slow (ajv, several header copies). It is never imported here, so the
 * runtime does not load it at start-up.
 */
import { attributeNameOf, isCeHeader, parseBinaryEvent } from './cloudevents-binary.js';
import { parseMediaType } from './cloudevents-media-type.js';
import { parseBatch, parseStructuredEvent } from './cloudevents-structured.js';
import {
  CE_MEDIA_TYPE,
  invalidCloudEvent,
  type ParsedCloudEvents,
  show,
  unsupportedMediaType,
} from './cloudevents-types.js';
import type { HttpRequest } from './request.js';

export {
  DEFAULT_REPLY_SOURCE,
  type ReplyOptions,
  replyId,
  toBatchResponse,
  toCloudEventErrorResponse,
  toCloudEventResponse,
} from './cloudevents-reply.js';
export type { CloudEventJson, ParsedCloudEvents } from './cloudevents-types.js';

// HTTP binding §1.2: events travel with "methods that support payload body transfers".
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE', 'CONNECT']);

function isContentType(name: string): boolean {
  return name.length === 12 && (name.charCodeAt(0) | 0x20) === 0x63 && name.toLowerCase() === 'content-type';
}

function isContentEncoding(name: string): boolean {
  return name.length === 16 && name.toLowerCase() === 'content-encoding';
}

/**
 * A coded body (gzip, br) would reach the function as the coded bytes, or fail as text or JSON with a
 * message blaming the data: refused, naming the coding (RFC 9110 §15.5.16). No Knative sender codes one.
 */
function encoded(coding: string): void {
  const value = coding.trim().toLowerCase();
  if (value === '' || value === 'identity') return;
  throw unsupportedMediaType(
    `content-encoding: ${show(coding)} is not supported for CloudEvents, send the body without a content coding`,
  );
}

/**
 * Whether a request is a CloudEvent delivery, by the HTTP binding's rules (§3): a method that carries a
 * body, and a `Content-Type` starting with `application/cloudevents` (structured or batch), or a
 * `ce-specversion` header (binary), or all of `ce-id`, `ce-source` and `ce-type` (the binding's "has all
 * the mandatory attributes as headers", so a missing `ce-specversion` gets a 400 naming it). A request
 * with only some `ce-` headers is plain HTTP: it must never be mistaken for an event.
 *
 * @example
 * isCloudEventRequest({ ...req, method: 'POST', rawHeaders: ['ce-specversion', '1.0'] }) // true
 */
export function isCloudEventRequest(req: HttpRequest): boolean {
  if (BODYLESS_METHODS.has(req.method)) return false;
  const raw = req.rawHeaders;
  let required = 0;
  let sawContentType = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (isCeHeader(name)) {
      const attribute = attributeNameOf(name);
      if (attribute === 'specversion') return true;
      if (attribute === 'id') required |= 1;
      else if (attribute === 'source') required |= 2;
      else if (attribute === 'type') required |= 4;
    } else if (!sawContentType && isContentType(name)) {
      if (CE_MEDIA_TYPE.test(raw[i + 1]!)) return true;
      sawContentType = true;
    }
  }
  return required === 7;
}

/**
 * Parses and validates a CloudEvent delivery into the CloudEvents JSON shape, scanning `rawHeaders`
 * once. The mode comes from `Content-Type` (HTTP binding §3): `application/cloudevents+json` is
 * structured, `application/cloudevents-batch+json` a batch, any other `application/cloudevents*` a 415,
 * anything else binary. Throws `JustfnError('INVALID_CLOUDEVENT')` (400) naming the attribute or header
 * and the problem, or `JustfnError('UNSUPPORTED_MEDIA_TYPE')` (415).
 *
 * @example
 * const parsed = parseCloudEvents(req);
 * if (parsed.mode === 'batch') for (const event of parsed.events) await run(event);
 * else await run(parsed.event);
 */
export function parseCloudEvents(req: HttpRequest): ParsedCloudEvents {
  const raw = req.rawHeaders;
  let contentType: string | undefined;
  const ceIndices: number[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (isCeHeader(name)) ceIndices.push(i);
    else if (isContentType(name)) {
      if (contentType !== undefined) throw invalidCloudEvent('content-type: header repeated');
      contentType = raw[i + 1]!;
    } else if (isContentEncoding(name)) encoded(raw[i + 1]!);
  }
  if (contentType !== undefined && CE_MEDIA_TYPE.test(contentType))
    return parseEnvelope(req.body, contentType);
  return { mode: 'binary', event: parseBinaryEvent(raw, ceIndices, contentType, req.body) };
}

// HTTP binding §3.2 and §3.3; structured-mode `ce-` headers are ignored: the body is authoritative.
function parseEnvelope(body: Buffer, contentType: string): ParsedCloudEvents {
  const type = parseMediaType(contentType);
  if (type === undefined) throw invalidCloudEvent(`content-type: not a media type: ${show(contentType)}`);
  if (type.essence === 'application/cloudevents+json') {
    return { mode: 'structured', event: parseStructuredEvent(body, type, contentType) };
  }
  if (type.essence === 'application/cloudevents-batch+json') {
    return { mode: 'batch', events: parseBatch(body, type, contentType) };
  }
  throw unsupportedMediaType(
    `content-type: unsupported CloudEvents format ${show(type.essence)}, ` +
      'use application/cloudevents+json, application/cloudevents-batch+json or binary mode',
  );
}
