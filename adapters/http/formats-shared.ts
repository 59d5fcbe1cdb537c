import { isUtf8 } from 'node:buffer';

/**
 * The raw request target cut in two, without `new URL()`: the path exactly as sent ('/' when empty) and
 * the query after the first '?' ('' when none). An absolute-form target keeps only its path and query.
 *
 * @example
 * splitUrl('/a%20b?x=1&x=2') // { path: '/a%20b', query: 'x=1&x=2' }
 */
export function splitUrl(url: string): { path: string; query: string } {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* / */) {
    // Absolute-form (RFC 9112 §3.2.2): skip the scheme and authority. Asterisk-form has no path.
    const scheme = url.indexOf('://');
    start = scheme === -1 ? url.length : scheme + 3;
    while (start < url.length && url[start] !== '/' && url[start] !== '?') start++;
  }
  const mark = url.indexOf('?', start);
  const path = mark === -1 ? url.slice(start) : url.slice(start, mark);
  return { path: path === '' ? '/' : path, query: mark === -1 ? '' : url.slice(mark + 1) };
}

/**
 * Calls `visit` for each `key=value` pair of a raw query, in order. Empty segments (`a=1&&b=2`) are
 * skipped; a key without '=' has the value ''. With `decode`, '+' is a space and %XX is decoded, as API
 * Gateway does; a component that is not valid percent-encoding stays exactly as sent.
 *
 * @example
 * forEachQueryPair('a=1+2&b', true, (k, v) => console.log(k, v)) // 'a' '1 2', then 'b' ''
 */
export function forEachQueryPair(
  query: string,
  decode: boolean,
  visit: (key: string, value: string) => void,
) {
  let start = 0;
  while (start < query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end > start) {
      const eq = query.indexOf('=', start);
      const key = eq === -1 || eq > end ? query.slice(start, end) : query.slice(start, eq);
      const value = eq === -1 || eq > end ? '' : query.slice(eq + 1, end);
      visit(decode ? decodeFormComponent(key) : key, decode ? decodeFormComponent(value) : value);
    }
    start = end + 1;
  }
}

function decodeFormComponent(text: string): string {
  const plus = text.includes('+');
  if (!plus && !text.includes('%')) return text;
  const spaced = plus ? text.replaceAll('+', ' ') : text;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return text;
  }
}

/**
 * Percent-decodes a path once ('+' stays '+'); a path that is not valid percent-encoding stays as sent.
 *
 * @example
 * decodePath('/a%20b') // '/a b'
 */
export function decodePath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * The request headers every format reads for itself, each the first value sent.
 *
 * @example
 * const facts: HeaderFacts = { host: 'a.example', userAgent: 'curl/8', contentType: 'text/plain', contentEncoding: undefined };
 */
export interface HeaderFacts {
  host: string | undefined;
  userAgent: string | undefined;
  contentType: string | undefined;
  contentEncoding: string | undefined;
}

/**
 * Walks Node's rawHeaders once, calling `visit` with the name as sent, its lower-case form and the value,
 * and returns the {@link HeaderFacts}. HTTP/2 pseudo-headers are not headers and are skipped; when there
 * is no Host header, `:authority` stands in for it (RFC 9113 §8.3.1), so h2 events carry `host` as AWS's do.
 *
 * @example
 * const facts = walkHeaders(['Host', 'a.example', 'X-A', '1'], (name, lower, value) => {});
 * facts.host // 'a.example'
 */
export function walkHeaders(
  rawHeaders: readonly string[],
  visit: (name: string, lower: string, value: string) => void,
): HeaderFacts {
  const facts: HeaderFacts = {
    host: undefined,
    userAgent: undefined,
    contentType: undefined,
    contentEncoding: undefined,
  };
  let authority: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const value = rawHeaders[i + 1]!;
    if (rawHeaders[i]!.charCodeAt(0) === 58 /* : */) {
      if (rawHeaders[i] === ':authority') authority = value;
      continue;
    }
    const { name, lower } = knownName(rawHeaders[i]!);
    if (lower === 'host') facts.host ??= value;
    else if (lower === 'user-agent') facts.userAgent ??= value;
    else if (lower === 'content-type') facts.contentType ??= value;
    else if (lower === 'content-encoding') facts.contentEncoding ??= value;
    visit(name, lower, value);
  }
  if (facts.host === undefined && authority !== undefined) {
    facts.host = authority;
    visit('host', 'host', authority);
  }
  return facts;
}

// Header names repeat from request to request. Handing out the same strings for a name each time lets
// V8 use them as known property keys: header objects build about twice as fast (measured). The cache is
// bounded because clients choose the names.
const knownNames = new Map<string, { name: string; lower: string }>();

function knownName(name: string): { name: string; lower: string } {
  let known = knownNames.get(name);
  if (known === undefined) {
    known = { name, lower: name.toLowerCase() };
    if (knownNames.size < 1000) knownNames.set(name, known);
  }
  return known;
}

/**
 * Appends each cookie of one Cookie header (`a=1; b=2`) to `into`, trimmed, skipping empty ones: API
 * Gateway 2.0's `cookies` array.
 *
 * @example
 * const cookies: string[] = [];
 * splitCookies('a=1; b=2', cookies); // cookies: ['a=1', 'b=2']
 */
export function splitCookies(header: string, into: string[]): void {
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const cookie = header.slice(start, end).trim();
    if (cookie !== '') into.push(cookie);
    start = end + 1;
  }
}

/**
 * Whether a request body goes to the handler as text (else base64). Text when it is not content-encoded
 * (ALB docs: a `content-encoding` body is always base64), its media type is textual (text/*, JSON, XML,
 * JavaScript, form-urlencoded) or absent, and its bytes are valid UTF-8 — so the event never loses a byte.
 *
 * @example
 * isTextBody(Buffer.from('{}'), 'application/json', undefined) // true
 */
export function isTextBody(
  body: Buffer,
  contentType: string | undefined,
  contentEncoding: string | undefined,
) {
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity') return false;
  if (contentType !== undefined && !isTextualMediaType(contentType)) return false;
  return isUtf8(body);
}

function isTextualMediaType(contentType: string): boolean {
  const semicolon = contentType.indexOf(';');
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type === 'application/json' ||
    type.endsWith('+json') ||
    type === 'application/xml' ||
    type.endsWith('+xml') ||
    type === 'application/javascript' ||
    type === 'application/x-www-form-urlencoded'
  );
}

/**
 * Sets an own property even when the key is `__proto__`, as `JSON.parse` does on Lambda: a client's
 * `__proto__` header or query key must be data, never a prototype change.
 *
 * @example
 * const headers = {}; setOwn(headers, '__proto__', 'x'); Object.keys(headers) // ['__proto__']
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}
