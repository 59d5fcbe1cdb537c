import { isAscii, isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { isJsonMediaType, isTextMediaType, type MediaType } from './cloudevents-media-type.js';
import { invalidCloudEvent, show, unsupportedMediaType } from './cloudevents-types.js';

const decoders = new Map<string, TextDecoder>();

function isAsciiLabel(charset: string): boolean {
  // WHATWG maps these labels to windows-1252; the IANA charset is 7-bit, so check it ourselves.
  return charset === 'us-ascii' || charset === 'ascii';
}

function decoderFor(charset: string): TextDecoder {
  let decoder = decoders.get(charset);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(charset, { fatal: true });
    } catch {
      throw unsupportedMediaType(`content-type: unsupported charset ${show(charset)}`);
    }
    decoders.set(charset, decoder);
  }
  return decoder;
}

/**
 * The WHATWG encoding a charset label names (`utf8` and `unicode-1-1-utf-8` are `utf-8`; `latin1` and
 * `iso-8859-1` are `windows-1252`), or `undefined` for a label Node does not know.
 *
 * @example
 * encodingOf('UTF8'); // 'utf-8'
 */
export function encodingOf(charset: string): string | undefined {
  try {
    return decoderFor(charset).encoding;
  } catch {
    return undefined;
  }
}

function utf8(body: Buffer, contentType: string): string {
  if (!isUtf8(body)) throw invalidCloudEvent(`body: invalid UTF-8 for content-type ${show(contentType)}`);
  return body.toString('utf8');
}

/**
 * Decodes a text body in its declared charset (UTF-8 when none), rejecting bytes that are not valid in
 * it: 400 for bad bytes, 415 for a charset Node cannot decode.
 *
 * @example
 * decodeText(Buffer.from('hi'), undefined, 'text/plain') // 'hi'
 */
export function decodeText(body: Buffer, charset: string | undefined, contentType: string): string {
  if (charset === undefined || charset === 'utf-8') return utf8(body, contentType);
  if (isAsciiLabel(charset)) {
    if (!isAscii(body))
      throw invalidCloudEvent(`body: invalid US-ASCII for content-type ${show(contentType)}`);
    return body.toString('latin1');
  }
  const decoder = decoderFor(charset);
  if (decoder.encoding === 'utf-8') return utf8(body, contentType);
  try {
    return decoder.decode(body);
  } catch {
    throw invalidCloudEvent(`body: invalid ${charset} for content-type ${show(contentType)}`);
  }
}

/**
 * Parses a JSON body. JSON travels as UTF-8 (RFC 8259 §8.1), so another charset is a 415; invalid
 * UTF-8 or invalid JSON (a truncated body included) is a 400 naming the parser's complaint.
 *
 * @example
 * parseJsonBody(Buffer.from('{"a":1}'), undefined, 'application/json') // { a: 1 }
 */
export function parseJsonBody(body: Buffer, charset: string | undefined, contentType: string): unknown {
  let text: string;
  if (charset !== undefined && isAsciiLabel(charset)) text = decodeText(body, charset, contentType);
  else if (charset === undefined || charset === 'utf-8' || decoderFor(charset).encoding === 'utf-8') {
    text = utf8(body, contentType);
  } else {
    throw unsupportedMediaType(`content-type: charset ${show(charset)} is not supported for JSON, use utf-8`);
  }
  // RFC 8259 §8.1: a parser may ignore a byte order mark, which JSON.parse calls an unexpected token.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidCloudEvent(`body: invalid JSON (${(error as Error).message})`);
  }
}

/**
 * Sets the event's data from a binary-mode body (CloudEvents HTTP binding §3.1.2): JSON types give a
 * JSON value in `data`, text types a string in `data`, anything else (or no `Content-Type`, which
 * RFC 9110 §8.3 lets us read as `application/octet-stream`) base64 in `data_base64`. An empty body is no
 * data at all.
 *
 * @example
 * setBinaryData(event, Buffer.from('{"a":1}'), { essence: 'application/json', charset: undefined }, 'application/json');
 */
export function setBinaryData(
  event: Record<string, unknown>,
  body: Buffer,
  type: MediaType | undefined,
  contentType: string,
): void {
  if (body.length === 0) return;
  if (type === undefined) event.data_base64 = body.toString('base64');
  else if (isJsonMediaType(type.essence)) event.data = parseJsonBody(body, type.charset, contentType);
  else if (isTextMediaType(type)) event.data = decodeText(body, type.charset, contentType);
  else event.data_base64 = body.toString('base64');
}
