import { checkStringChars } from './cloudevents-attributes.js';
import { readQuotedString } from './cloudevents-media-type.js';
import { invalidCloudEvent } from './cloudevents-types.js';

// Printable ASCII and inner spaces need no work; '%', '"', anything else, or OWS at an end does.
const NEEDS_DECODING = /[^\x21\x23\x24\x26-\x7e ]/;
// CloudEvents HTTP binding §3.1.3.2: space, '"', '%' and everything outside U+0021-U+007E.
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * Decodes a `ce-` header value per CloudEvents HTTP binding §3.1.3.2: first undo an RFC 7230 §3.2.6
 * quoted-string, then one round of percent-decoding (lower-case hex and needless escapes accepted,
 * invalid escapes and invalid UTF-8 such as `%C0%A0` rejected). The result must be a valid CloudEvents
 * String (no control characters, noncharacters or lone surrogates). `name` is the attribute, for errors.
 *
 * A value is a quoted-string only when it starts with `"`: it must then be exactly one. A `"` further in
 * is taken literally, so a sender that does not encode (the conformance tool, the JS SDK) keeps
 * `{"a": 5}` intact; the C# SDK's reading (unquote every `"..."` run) would turn it into `{a: 5}`.
 *
 * @example
 * decodeHeaderValue('subject', 'Euro%20%E2%82%AC') // 'Euro €'
 */
export function decodeHeaderValue(name: string, raw: string): string {
  const plain =
    !NEEDS_DECODING.test(raw) && raw.charCodeAt(0) !== 0x20 && raw.charCodeAt(raw.length - 1) !== 0x20;
  return plain ? raw : decodeSlowly(`ce-${name}`, raw);
}

function decodeSlowly(header: string, raw: string): string {
  let value = trimOws(raw);
  if (value.charCodeAt(0) === 0x22) {
    const quoted = readQuotedString(value, 0);
    if (quoted === undefined || quoted.end !== value.length) {
      throw invalidCloudEvent(`${header}: malformed quoted-string`);
    }
    value = quoted.value;
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw invalidCloudEvent(`${header}: raw character ${codePoint(c)} must be percent-encoded`);
    }
  }
  if (value.includes('%')) value = percentDecode(header, value);
  checkStringChars(header, value);
  return value;
}

function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return s.slice(start, end);
}

function percentDecode(header: string, value: string): string {
  try {
    // ECMAScript Decode rejects bad hex, overlong forms, surrogates and truncated sequences.
    return decodeURIComponent(value);
  } catch {
    throw invalidCloudEvent(
      BAD_ESCAPE.test(value)
        ? `${header}: invalid percent-encoding`
        : `${header}: percent-encoded bytes are not valid UTF-8`,
    );
  }
}

function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Whether a value has anything {@link encodeHeaderValue} would escape; a value without is printable
 * ASCII, so it is also a valid CloudEvents String.
 *
 * @example
 * needsEncoding('dev.knative.sources.ping') // false
 */
export function needsEncoding(value: string): boolean {
  return NEEDS_ENCODING.test(value);
}

/**
 * Encodes an attribute value for a `ce-` header per CloudEvents HTTP binding §3.1.3.2: space, `"`, `%`
 * and every character outside U+0021-U+007E become UTF-8 bytes as upper-case `%XY`; nothing else is
 * touched. The value must be a valid CloudEvents String (no lone surrogates).
 *
 * @example
 * encodeHeaderValue('Euro € 😀') // 'Euro%20%E2%82%AC%20%F0%9F%98%80'
 */
export function encodeHeaderValue(value: string): string {
  if (!needsEncoding(value)) return value;
  let out = '';
  for (const ch of value) {
    const c = ch.charCodeAt(0);
    // encodeURIComponent escapes exactly these characters (and more we never pass it), as UTF-8.
    out += c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x25 ? ch : encodeURIComponent(ch);
  }
  return out;
}
