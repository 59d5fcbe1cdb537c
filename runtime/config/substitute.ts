import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ConfigPath, type Problem, pathKey } from './problems.js';
import { secretForms } from './redact.js';

/**
 * Where substitutions take their values: the environment (passed in, never `process.env`) and the directory
 * `${file:...}` paths are relative to (the config file's).
 *
 * @example
 * const options: SubstituteOptions = { env: { DATABASE_URL: 'postgres://db/x' }, baseDir: '/var/task' };
 */
export interface SubstituteOptions {
  env: Record<string, string | undefined>;
  baseDir: string;
}

/**
 * The document with every substitution done, and what it read.
 *
 * @example
 * const { value, secrets, problems } = substitute(parsed, { env, baseDir });
 */
export interface Substituted {
  value: unknown;
  /** Every value that came from a variable or a file (and a URL's password in it): never print these. */
  secrets: Set<string>;
  /** Names of the variables referenced, in order of first use. */
  variables: string[];
  /** Absolute paths of the `${file:...}` references, in order of first use. */
  files: string[];
  problems: Problem[];
  /** Paths (as {@link pathKey}) of strings that held a substitution. */
  touched: Set<string>;
  /** Paths of strings that were exactly one substitution: a number or boolean may come from them. */
  whole: Set<string>;
}

/**
 * One `$${` (a literal `${`), one `${...}` (its inside captured) or an unclosed `${`. Global: reset
 * `lastIndex` when calling `exec` by hand.
 */
export const substitutionToken = /\$\$\{|\$\{([^}]*)\}|\$\{[^}]*/g;
const variable = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;
// biome-ignore lint/suspicious/noTemplateCurlyInString: justfn.yaml's own ${...} syntax, not JS.
const usage = 'use ${VAR}, ${VAR:-default} or ${file:PATH}, and $${ for a literal ${';

/**
 * Replaces `${VAR}`, `${VAR:-default}` (the default when VAR is unset or empty) and `${file:PATH}` (the
 * file's contents less one trailing newline) in every string value, and `$${` with a literal `${`. Keys are
 * left alone. Never throws: what cannot be resolved becomes a problem, and the string is left empty.
 *
 * @example
 * substitute({ url: '${DB:-postgres://localhost/dev}' }, { env: {}, baseDir: '.' }).value;
 * // { url: 'postgres://localhost/dev' }
 */
export function substitute(document: unknown, options: SubstituteOptions): Substituted {
  const state: Substituted = {
    value: undefined,
    secrets: new Set(),
    variables: [],
    files: [],
    problems: [],
    touched: new Set(),
    whole: new Set(),
  };
  state.value = walk(document, [], options, state);
  return state;
}

function walk(value: unknown, path: ConfigPath, options: SubstituteOptions, state: Substituted): unknown {
  if (typeof value === 'string') return substituteString(value, path, options, state);
  if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i], options, state));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a `__proto__` key stays a key.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key], options, state)]),
    );
  }
  return value;
}

function substituteString(text: string, path: ConfigPath, options: SubstituteOptions, state: Substituted) {
  let failed = false;
  let count = 0;
  const out = text.replace(substitutionToken, (match: string, inner: string | undefined) => {
    if (match === '$${') return '${';
    count += 1;
    const resolved = resolveExpression(inner, match, options, state);
    if (typeof resolved === 'object') {
      failed = true;
      state.problems.push({ path, message: resolved.problem });
      return '';
    }
    return resolved;
  });
  if (count === 0) return out;
  state.touched.add(pathKey(path));
  if (count === 1 && !failed && isWhole(text)) state.whole.add(pathKey(path));
  return failed ? '' : out;
}

function isWhole(text: string): boolean {
  substitutionToken.lastIndex = 0;
  const match = substitutionToken.exec(text);
  substitutionToken.lastIndex = 0;
  return match !== null && match.index === 0 && match[0].length === text.length && match[0] !== '$${';
}

type Resolution = string | { problem: string };

/**
 * What the inside of one `${...}` says, as the runtime reads it: a file, a variable with its default, or
 * the problem with it. `justfn manifests` reads the same way without reading any value.
 *
 * @example
 * readExpression('DB:-postgres://localhost/dev'); // { name: 'DB', fallback: 'postgres://localhost/dev' }
 * readExpression(undefined, '${DB'); // { problem: '"${DB" is not a valid substitution: use ...' }
 */
export function readExpression(
  inner: string | undefined,
  match = `\${${inner}}`,
): { file: string } | { name: string; fallback: string | undefined } | { problem: string } {
  // An unclosed `${...`.
  if (inner === undefined) return { problem: invalid(match) };
  // `${A:-${B:-x}}`: the first `}` ends the expression, so the default would be `${B:-x` and a stray `}`
  // would follow. Substitutions do not nest: refused rather than half-read.
  if (inner.includes('${')) {
    const shown = `\${${inner.length > 40 ? `${inner.slice(0, 40)}...` : inner}}`;
    return { problem: `${JSON.stringify(shown)}: substitutions do not nest; ${usage}` };
  }
  if (inner.startsWith('file:') && inner.length > 5) return { file: inner.slice(5) };
  const parsed = variable.exec(inner);
  if (parsed) return { name: parsed[1] ?? '', fallback: parsed[2] };
  return { problem: invalid(match) };
}

function invalid(match: string): string {
  return `${JSON.stringify(match.length > 40 ? `${match.slice(0, 40)}...` : match)} is not a valid substitution: ${usage}`;
}

function resolveExpression(
  inner: string | undefined,
  match: string,
  options: SubstituteOptions,
  state: Substituted,
): Resolution {
  const expression = readExpression(inner, match);
  if ('problem' in expression) return expression;
  if ('file' in expression) return readSecretFile(expression.file, options, state);
  const { name, fallback } = expression;
  if (!state.variables.includes(name)) state.variables.push(name);
  const value = options.env[name];
  if (fallback !== undefined && (value === undefined || value === '')) return fallback;
  if (value === undefined) return { problem: `\${${name}} is not set` };
  for (const form of secretForms(value)) state.secrets.add(form);
  return value;
}

/** Kubernetes' own limit on a Secret. */
const MAX_SECRET_FILE = 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function readSecretFile(file: string, options: SubstituteOptions, state: Substituted): Resolution {
  const absolute = resolve(options.baseDir, file);
  if (!state.files.includes(absolute)) state.files.push(absolute);
  let contents: string;
  try {
    // A device or a pipe (`/dev/zero`, a FIFO) would be read without end, or block the start.
    const stat = statSync(absolute);
    if (!stat.isFile()) return { problem: `\${file:${file}} is not a regular file` };
    if (stat.size > MAX_SECRET_FILE) return { problem: `\${file:${file}} is larger than 1 MiB` };
    contents = utf8.decode(readFileSync(absolute));
  } catch (error) {
    if (error instanceof TypeError) return { problem: `\${file:${file}} is not UTF-8 text` };
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { problem: `\${file:${file}} cannot be read (${code})` };
  }
  const value = contents.replace(/\r?\n$/, '');
  for (const form of secretForms(value)) state.secrets.add(form);
  return value;
}
