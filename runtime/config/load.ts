import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ConfigError } from './config-error.js';
import { formatProblem, pathKey } from './problems.js';
import { redactSecrets } from './redact.js';
import type { ServiceConfig } from './service-config.js';
import { substitute } from './substitute.js';
import { validateService } from './validate.js';

/**
 * A loaded `justfn.yaml` and what it read from outside itself.
 *
 * @example
 * const { config, secrets } = loadServiceConfig('justfn.yaml', env);
 * log.info(redactSecrets(JSON.stringify(config), secrets));
 */
export interface LoadedConfig {
  /** Deeply frozen. */
  config: ServiceConfig;
  /** The path as given. */
  file: string;
  /** The file's directory, absolute: `proto:` and `${file:...}` paths are relative to it. */
  baseDir: string;
  /** Every value that came from `${VAR}` or `${file:...}`: never print these (see `redactSecrets`). */
  secrets: ReadonlySet<string>;
  /** Names of the `${VAR}`s, in order: manifests set them from Secrets instead of embedding values. */
  variables: readonly string[];
  /** Absolute paths of the `${file:...}`s, in order: manifests mount Secrets there. */
  files: readonly string[];
}

/**
 * Reads, substitutes and validates `justfn.yaml`. `env` is where `${VAR}` values come from (the caller
 * passes `process.env`; nothing here reads it).
 *
 * @throws {ConfigError} with one line per problem (`justfn.yaml:3:5: bad YAML: ...`,
 *   `justfn.yaml: resources.db.url: ${DATABASE_URL} is not set`), never a secret value.
 * @example
 * const { config } = loadServiceConfig('/var/task/justfn.yaml', process.env);
 * config.resources.db; // { kind: 'postgres', url: '...', pool: { min: 1, max: 10 } }
 */
export function loadServiceConfig(file: string, env: Record<string, string | undefined>): LoadedConfig {
  const baseDir = dirname(resolve(file));
  const document = readYamlFile(file);
  const substituted = substitute(document, { env, baseDir });
  const result = validateService(substituted.value, substituted);
  const failed = new Set(substituted.problems.map((p) => pathKey(p.path)));
  const problems = [
    ...substituted.problems,
    // A value left empty by a failed substitution says nothing more about the file.
    ...(result.ok ? [] : result.problems.filter((p) => !failed.has(pathKey(p.path)))),
  ];
  if (problems.length > 0 || !result.ok) {
    throw new ConfigError(problems.map((p) => redactSecrets(formatProblem(file, p), substituted.secrets)));
  }
  return {
    config: deepFreeze(result.config),
    file,
    baseDir,
    secrets: substituted.secrets,
    variables: Object.freeze(substituted.variables),
    files: Object.freeze(substituted.files),
  };
}

/**
 * A YAML file as plain data, before any `${...}` is substituted: the one reader of `justfn.yaml` for the
 * runtime and for `justfn manifests`.
 *
 * @throws {ConfigError} the file cannot be read, or one line per place its YAML is bad.
 * @example
 * readYamlFile('justfn.yaml'); // { name: 'users', resources: { db: { kind: 'postgres', url: '${DATABASE_URL}' } } }
 */
export function readYamlFile(file: string): unknown {
  return parseYaml(file, readText(file));
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError([`${file}: cannot be read (${code})`]);
  }
}

function parseYaml(file: string, text: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues: YAMLError[] = [...doc.errors, ...doc.warnings];
  if (issues.length > 0) {
    // The parser may report one mistake several ways at the same place: keep the first.
    const byPlace = new Map<string, string>();
    for (const issue of issues) {
      const { line, col } = lineCounter.linePos(issue.pos[0]);
      const message = issue.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '');
      if (!byPlace.has(`${line}:${col}`))
        byPlace.set(`${line}:${col}`, `${file}:${line}:${col}: bad YAML: ${message}`);
    }
    throw new ConfigError([...byPlace.values()]);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Aliases that expand past the limit (a "billion laughs" file) fail only here, when resolved.
    throw new ConfigError([`${file}: bad YAML: ${(error as Error).message}`]);
  }
  // YAML lets an alias name the node that contains it (`x: &x [*x]`): a cycle no reader can walk.
  if (cyclic(value, new Set())) {
    throw new ConfigError([`${file}: bad YAML: an alias refers to a node that contains it`]);
  }
  return value;
}

function cyclic(value: unknown, within: Set<object>): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (within.has(value)) return true;
  within.add(value);
  for (const item of Object.values(value)) if (cyclic(item, within)) return true;
  within.delete(value);
  return false;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
