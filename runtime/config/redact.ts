/**
 * What a secret becomes in printed text.
 *
 * @example
 * redactSecrets('pw=hunter2', ['hunter2']) === `pw=${REDACTED}`; // true
 */
export const REDACTED = '[redacted]';

/**
 * `scheme://user:password@` — the password group is the secret part of a connection URL. As in the URL
 * parser drivers use (WHATWG's), the user info ends at the *last* `@` before the host, so an `@` left
 * unencoded in a password belongs to it.
 */
const credentials = /^([a-z][a-z0-9+.-]*:\/\/[^/?#:@\s]*):([^/?#\s]*)@/i;

/**
 * Replaces every occurrence of every secret in `text`, in one pass: where occurrences overlap (a secret
 * inside another, or two that share characters), the whole stretch they cover becomes one `[redacted]`,
 * and a secret never matches inside a `[redacted]` already written. Empty strings are not secrets.
 *
 * @example
 * redactSecrets('connect to postgres://app:s3cret@db', new Set(['s3cret'])); // 'connect to postgres://app:[redacted]@db'
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const covered: [number, number][] = [];
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
      covered.push([at, at + secret.length]);
    }
  }
  if (covered.length === 0) return text;
  covered.sort((a, b) => a[0] - b[0]);
  let out = '';
  let written = 0;
  let [from, to] = covered[0]!;
  for (const [start, end] of covered) {
    if (start <= to) {
      to = Math.max(to, end);
      continue;
    }
    out += text.slice(written, from) + REDACTED;
    written = to;
    [from, to] = [start, end];
  }
  return out + text.slice(written, from) + REDACTED + text.slice(to);
}

/**
 * A connection URL fit to print: the password, if any, replaced by `***`.
 *
 * @example
 * redactUrl('postgres://app:s3cret@db:5432/users'); // 'postgres://app:***@db:5432/users'
 */
export function redactUrl(url: string): string {
  return url.replace(credentials, (_all, head: string, password: string) =>
    password === '' ? `${head}:@` : `${head}:***@`,
  );
}

/**
 * The strings to treat as secret for one value taken from a variable or a file: the value, and when it is a
 * URL with a password, the password as written and decoded (drivers report either); when it is one
 * without, its host and host:port as written and in lower case, which connection errors name
 * (`getaddrinfo ENOTFOUND billing.internal`). A URL with a password keeps its host printable, as
 * `redactUrl` prints it: that URL names where it connects, its password is the secret. Strings shorter than
 * four characters and numbers of up to five digits (a pool size, a timeout, a port) are left out: cut out
 * of every message, `5` or `/` made resource errors unreadable (`[redacted]000 ms`), and hid nothing a
 * secret could be. A URL's password of any length is still masked where the URL is printed (`redactUrl`).
 *
 * @example
 * secretForms('postgres://app:p%40ss@db/x'); // ['postgres://app:p%40ss@db/x', 'p%40ss', 'p@ss']
 * secretForms('5'); // []
 */
export function secretForms(value: string): string[] {
  const forms = [value];
  const password = credentials.exec(value)?.[2];
  if (!password) forms.push(...hostForms(value));
  if (password) {
    forms.push(password);
    try {
      const decoded = decodeURIComponent(password);
      if (decoded !== password) forms.push(decoded);
    } catch {
      // Not percent-encoded after all: the raw form is already recorded.
    }
  }
  return forms.filter((form) => form.length >= 4 && !/^\d{1,5}$/.test(form));
}

function hostForms(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  // As written (`new URL` lower-cases the host) and as resolvers and sockets print it. A bare name
  // without a dot (`auth`, `billing`) is left out: it is also the resource's name, in every message.
  const written = value.slice(value.indexOf('//') + 2).split(/[/?#]/)[0] ?? '';
  const hosts = [written, url.host, url.hostname, written.replace(/:\d+$/, '')];
  return [...new Set(hosts.filter((host) => /[.:]/.test(host)))];
}
