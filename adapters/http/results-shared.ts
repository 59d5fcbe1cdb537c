import { JustfnError } from '../../runtime/errors.js';
import { setOwn } from './formats-shared.js';

/**
 * Response headers being built: lower-case names, one string or several.
 *
 * @example
 * const headers: ResponseHeaders = { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] };
 */
export type ResponseHeaders = Record<string, string | string[]>;

/**
 * The error for a result API Gateway or ALB would refuse ("Malformed Lambda proxy response", a 502).
 *
 * @example
 * throw malformed('statusCode must be an integer from 200 to 599, got "200"');
 */
export function malformed(message: string): JustfnError {
  return new JustfnError('BAD_HANDLER_RESULT', message);
}

/**
 * A plain object (what a JSON object parses to), as opposed to null, an array or a scalar.
 *
 * @example
 * isRecord({ statusCode: 200 }) // true
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A short description of a bad value for an error message (strings are cut, objects not dumped).
 *
 * @example
 * describeValue([1]) // 'an array'
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/**
 * `statusCode`: an integer from 200 to 599, or its three digits as a string (`'200'`, which AWS's own
 * `microservice-http-endpoint` blueprint returns and API Gateway takes). API Gateway and ALB take
 * 100–599, but a 1xx is an interim answer (RFC 9110 §15.2): sent as the only one, the client would wait
 * for a final answer that never comes, or read the next request's answer as this one's.
 *
 * @example
 * readStatusCode(404) // 404
 * readStatusCode('201') // 201
 */
export function readStatusCode(value: unknown): number {
  const status = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw malformed(`statusCode must be an integer from 200 to 599, got ${describeValue(value)}`);
  }
  return status;
}

/**
 * Statuses that carry no content (RFC 9110 §15.3.5, §15.3.6; a 304's body is the cached one, §15.4.5):
 * no body goes out with them, and no default content type.
 *
 * @example
 * hasNoContent(204) // true
 */
export function hasNoContent(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}

// RFC 9110 §5.6.2 token; and the bytes Node's http module accepts in a field value (no CR, LF, NUL or
// other controls): anything else would split the response or make Node throw mid-reply.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

// Hop-by-hop headers are not honoured (ALB docs) and Content-Length is computed by the server: letting a
// handler set them could desynchronise the body framing.
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);

/**
 * Refuses text that cannot go on the wire as a header value or reason phrase: CR or LF would split the
 * response; NUL, other controls and characters above U+00FF make Node throw mid-reply.
 *
 * @example
 * assertFieldText('a\r\nSet-Cookie: x=1', 'headers.X') // throws BAD_HANDLER_RESULT
 */
export function assertFieldText(text: string, field: string): void {
  if (INVALID_VALUE.test(text))
    throw malformed(`${field} contains CR, LF or another character a header cannot carry`);
}

/**
 * Adds one header value after checking it. Numbers and booleans are written as text (API Gateway accepts
 * `true` in `headers`); null and undefined mean "no header", as they would after JSON. With `unique`, a
 * value the name already has is not repeated (API Gateway's headers/multiValueHeaders merge).
 *
 * @example
 * addHeaderValue(out, 'Set-Cookie', 'a=1', 'headers.Set-Cookie', false) // out['set-cookie'] === 'a=1'
 */
export function addHeaderValue(
  out: ResponseHeaders,
  name: string,
  value: unknown,
  field: string,
  unique = false,
) {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw malformed(`${field} must be a string, got ${describeValue(value)}`);
  }
  if (!TOKEN.test(name)) throw malformed(`${field}: ${describeValue(name)} is not a valid header name`);
  const text = typeof value === 'string' ? value : String(value);
  assertFieldText(text, field);
  const lower = name.toLowerCase();
  if (DROPPED.has(lower)) return;
  const previous = out[lower];
  if (typeof previous === 'string') {
    if (!unique || previous !== text) out[lower] = [previous, text];
  } else if (Array.isArray(previous)) {
    if (!unique || !previous.includes(text)) previous.push(text);
  } else {
    setOwn<string | string[]>(out, lower, text);
  }
}

/**
 * Adds a result's `headers` object: one value per name.
 *
 * @example
 * addHeaders(out, { 'Content-Type': 'text/plain' }, 'headers')
 */
export function addHeaders(out: ResponseHeaders, headers: unknown, field: string, unique = false): void {
  if (headers === undefined || headers === null) return;
  if (!isRecord(headers)) throw malformed(`${field} must be an object, got ${describeValue(headers)}`);
  for (const name of Object.keys(headers)) {
    addHeaderValue(out, name, headers[name], `${field}.${name}`, unique);
  }
}

/**
 * Adds a result's `multiValueHeaders` object: an array of values per name.
 *
 * @example
 * addMultiValueHeaders(out, { 'Set-Cookie': ['a=1', 'b=2'] }, 'multiValueHeaders')
 */
export function addMultiValueHeaders(out: ResponseHeaders, headers: unknown, field: string): void {
  if (headers === undefined || headers === null) return;
  if (!isRecord(headers)) throw malformed(`${field} must be an object, got ${describeValue(headers)}`);
  for (const name of Object.keys(headers)) {
    const values = headers[name];
    if (values === undefined || values === null) continue;
    if (!Array.isArray(values))
      throw malformed(`${field}.${name} must be an array, got ${describeValue(values)}`);
    for (const value of values) addHeaderValue(out, name, value, `${field}.${name}`);
  }
}

/**
 * The response body: a string (or none), base64-decoded when `isBase64Encoded` is true. Base64 must be
 * strict (standard or URL-safe alphabet, optional padding, no whitespace): Node's decoder silently skips
 * bad characters, which would hand the client corrupted bytes.
 *
 * @example
 * readBody('aGk=', true) // <Buffer 68 69>
 */
export function readBody(body: unknown, isBase64Encoded: unknown): Buffer | string {
  if (isBase64Encoded !== undefined && isBase64Encoded !== null && typeof isBase64Encoded !== 'boolean') {
    throw malformed(`isBase64Encoded must be a boolean, got ${describeValue(isBase64Encoded)}`);
  }
  if (body === undefined || body === null) return '';
  if (typeof body !== 'string') {
    throw malformed(`body must be a string, got ${describeValue(body)} (JSON.stringify it first)`);
  }
  if (isBase64Encoded !== true) return body;
  const decoded = Buffer.from(body, 'base64');
  let length = body.length;
  if (length > 0 && body.charCodeAt(length - 1) === 61 /* = */) length--;
  if (length > 0 && body.charCodeAt(length - 1) === 61) length--;
  if (length % 4 === 1 || decoded.length !== Math.floor((length * 3) / 4)) {
    throw malformed('body is not valid base64 although isBase64Encoded is true');
  }
  return decoded;
}

/**
 * Adds payload 2.0's `cookies`: each entry becomes its own Set-Cookie line.
 *
 * @example
 * addCookies(out, ['a=1; Path=/', 'b=2']) // out['set-cookie'] === ['a=1; Path=/', 'b=2']
 */
export function addCookies(out: ResponseHeaders, cookies: unknown): void {
  if (cookies === undefined || cookies === null) return;
  if (!Array.isArray(cookies))
    throw malformed(`cookies must be an array of strings, got ${describeValue(cookies)}`);
  for (let i = 0; i < cookies.length; i++) {
    const cookie: unknown = cookies[i];
    if (typeof cookie !== 'string')
      throw malformed(`cookies[${i}] must be a string, got ${describeValue(cookie)}`);
    addHeaderValue(out, 'set-cookie', cookie, `cookies[${i}]`);
  }
}
