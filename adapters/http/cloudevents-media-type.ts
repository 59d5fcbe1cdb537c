/**
 * A parsed `Content-Type`: the lower-cased `type/subtype` and the lower-cased charset, if any.
 *
 * @example
 * const type: MediaType = { essence: 'text/plain', charset: 'utf-8' };
 */
export interface MediaType {
  essence: string;
  charset: string | undefined;
}

// RFC 9110 §5.6.2 tchar, indexed by char code.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

function tokenEnd(s: string, i: number): number {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c > 127 || TCHAR[c] === 0) break;
    j++;
  }
  return j;
}

function skipOws(s: string, i: number): number {
  let j = i;
  while (j < s.length && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x09)) j++;
  return j;
}

/**
 * Reads the RFC 9110 §5.6.4 quoted-string that opens at `s[start]` (a `"`), undoing quoted-pairs.
 * Returns the text and the index just past the closing quote, or `undefined` when it is malformed.
 *
 * @example
 * readQuotedString('"a\\"b"', 0) // { value: 'a"b', end: 6 }
 */
export function readQuotedString(s: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  let from = start + 1;
  for (let j = from; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return { value: value + s.slice(from, j), end: j + 1 };
    if (c === 0x5c) {
      if (!isQuotedText(s.charCodeAt(j + 1))) return undefined;
      value += s.slice(from, j) + s[j + 1];
      j++;
      from = j + 1;
    } else if (!isQuotedText(c)) return undefined;
  }
  return undefined;
}

// HTAB / SP / VCHAR / obs-text: what a quoted-string may hold (NaN past the end fails every test).
function isQuotedText(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

/**
 * Parses a `Content-Type` value per RFC 9110 §8.3.1 (`type/subtype *(OWS ";" OWS name=value)`).
 * Returns `undefined` when the value is not a media type.
 *
 * @example
 * parseMediaType('Application/JSON; charset="UTF-8"') // { essence: 'application/json', charset: 'utf-8' }
 */
export function parseMediaType(value: string): MediaType | undefined {
  const start = skipOws(value, 0);
  const slash = tokenEnd(value, start);
  if (slash === start || value.charCodeAt(slash) !== 0x2f) return undefined;
  let i = tokenEnd(value, slash + 1);
  if (i === slash + 1) return undefined;
  const essence = value.slice(start, i).toLowerCase();
  let charset: string | undefined;
  for (;;) {
    i = skipOws(value, i);
    if (i === value.length) return { essence, charset };
    if (value.charCodeAt(i) !== 0x3b) return undefined;
    i = skipOws(value, i + 1);
    if (i === value.length || value.charCodeAt(i) === 0x3b) continue;
    const eq = tokenEnd(value, i);
    if (eq === i || value.charCodeAt(eq) !== 0x3d) return undefined;
    const name = value.slice(i, eq).toLowerCase();
    let param: string;
    if (value.charCodeAt(eq + 1) === 0x22) {
      const quoted = readQuotedString(value, eq + 1);
      if (quoted === undefined) return undefined;
      param = quoted.value;
      i = quoted.end;
    } else {
      i = tokenEnd(value, eq + 1);
      if (i === eq + 1) return undefined;
      param = value.slice(eq + 1, i);
    }
    if (name === 'charset') charset = param.toLowerCase();
  }
}

/**
 * JSON-formatted data: a media type of the form `*\/json` or `*\/*+json`, parameters ignored
 * (json-format.md §3.1.1).
 *
 * @example
 * isJsonMediaType('application/vnd.api+json') // true
 */
export function isJsonMediaType(essence: string): boolean {
  return essence.endsWith('/json') || essence.endsWith('+json');
}

const TEXT_TYPES = new Set([
  'application/xml',
  'application/x-www-form-urlencoded',
  'application/javascript',
  'application/ecmascript',
  'application/yaml',
  'application/x-yaml',
  'application/x-ndjson',
  'application/graphql',
]);

/**
 * Data the handler gets as a string rather than as `data_base64`: `text/*`, XML, YAML and the like, or
 * anything that declares a charset (only text has one) other than `binary`.
 *
 * @example
 * isTextMediaType({ essence: 'application/xml', charset: undefined }) // true
 */
export function isTextMediaType(type: MediaType): boolean {
  const { essence } = type;
  return (
    // `charset=binary` is what `file --mime` says of bytes that are not text.
    (type.charset !== undefined && type.charset !== 'binary') ||
    essence.startsWith('text/') ||
    TEXT_TYPES.has(essence) ||
    essence.endsWith('+xml') ||
    essence.endsWith('+yaml')
  );
}
