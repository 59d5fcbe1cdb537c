import { ConfigError } from '../runtime/config/config-error.js';
import { readYamlFile } from '../runtime/config/load.js';
import { type ConfigPath, formatProblem, type Problem, pathKey } from '../runtime/config/problems.js';
import type { ServiceConfig } from '../runtime/config/service-config.js';
import { readExpression, substitutionToken } from '../runtime/config/substitute.js';
import { validateService } from '../runtime/config/validate.js';

/**
 * A `${VAR}` that `justfn.yaml` reads. `optional` when every use has a default (`${VAR:-x}`), so the
 * runtime starts without it.
 *
 * @example
 * const variable: SecretVariable = { name: 'DATABASE_URL', optional: false };
 */
export interface SecretVariable {
  name: string;
  optional: boolean;
}

/**
 * What the deployment descriptions are made from: the file's settings with defaults applied, and the
 * names of what it reads from outside — never a value read from a variable or a secret file.
 *
 * @example
 * const shape = readServiceShape('examples/hello/justfn.yaml');
 * shape.config.timeout; // 30
 */
export interface ServiceShape {
  /** `justfn.yaml` less `resources`, whose values may be secret and are not needed here. */
  config: Omit<ServiceConfig, 'resources'>;
  variables: readonly SecretVariable[];
  /** `${file:PATH}` paths as written (relative ones are relative to `justfn.yaml`). */
  files: readonly string[];
}

interface Scan {
  variables: Map<string, boolean>;
  files: string[];
  /** Paths of strings that held a substitution; their value is left empty. */
  touched: ConfigPath[];
  problems: Problem[];
}

/**
 * Reads `justfn.yaml` for `justfn manifests`: parses and validates it against the same schema as the
 * runtime, but substitutes nothing — a `${VAR}` or `${file:...}` value is never read, so no secret can
 * reach a manifest. Only `resources:` may hold substitutions; a setting the manifests need (`timeout`,
 * `deploy.image`, ...) must be written in the file, or `image` passed here.
 *
 * @throws {ConfigError} one line per problem.
 * @example
 * const { config, variables } = readServiceShape('justfn.yaml', { image: 'registry.example.com/users:2' });
 */
export function readServiceShape(file: string, overrides: { image?: string } = {}): ServiceShape {
  const document = readYamlFile(file);
  const scan: Scan = { variables: new Map(), files: [], touched: [], problems: [] };
  let value = walk(document, [], scan);
  let touched = scan.touched;
  if (overrides.image !== undefined && isMapping(value)) {
    value = {
      ...value,
      deploy: { ...(isMapping(value.deploy) ? value.deploy : {}), image: overrides.image },
    };
    touched = touched.filter((p) => pathKey(p) !== pathKey(['deploy', 'image']));
  }
  for (const at of touched.filter((p) => p[0] !== 'resources')) {
    const hint = pathKey(at) === pathKey(['deploy', 'image']) ? ' (or pass --image)' : '';
    scan.problems.push({
      path: at,
      message: `manifests are made without reading variables or secret files: write this value in the file${hint}`,
    });
  }
  const config = validate(value, new Set(touched.map(pathKey)), scan.problems);
  if (scan.problems.length > 0 || !config) {
    // A value `--image` gave is the flag's problem, not the file's.
    const fromFlag = (p: Problem) =>
      overrides.image !== undefined && pathKey(p.path) === pathKey(['deploy', 'image']);
    throw new ConfigError(
      scan.problems.map((p) => (fromFlag(p) ? `--image: ${p.message}` : formatProblem(file, p))),
    );
  }
  const { resources: _, ...rest } = config;
  return {
    config: rest,
    variables: [...scan.variables].map(([name, optional]) => ({ name, optional })),
    files: scan.files,
  };
}

/** Validates with the runtime's schema; a place left empty by a substitution is not a problem here. */
function validate(value: unknown, touched: Set<string>, problems: Problem[]): ServiceConfig | undefined {
  const marks = { touched, whole: new Set<string>() };
  const full = validateService(value, marks);
  if (full.ok) return full.config;
  problems.push(...full.problems.filter((p) => !touched.has(pathKey(p.path))));
  if (problems.length > 0 || !isMapping(value)) return undefined;
  const bare = validateService({ ...value, resources: {} }, marks);
  return bare.ok ? bare.config : undefined;
}

function walk(value: unknown, at: ConfigPath, scan: Scan): unknown {
  if (typeof value === 'string') return scanString(value, at, scan);
  if (Array.isArray(value)) return value.map((item, i) => walk(item, [...at, i], scan));
  if (isMapping(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, walk(item, [...at, key], scan)]),
    );
  }
  return value;
}

function scanString(text: string, at: ConfigPath, scan: Scan): string {
  let count = 0;
  const literal = text.replace(substitutionToken, (match: string, inner: string | undefined) => {
    if (match === '$${') return '${';
    count += 1;
    // Read as the runtime reads it (a nested `${A:-${B}}` is refused here too), but never resolved.
    const expression = readExpression(inner, match);
    if ('file' in expression) {
      if (!scan.files.includes(expression.file)) scan.files.push(expression.file);
    } else if ('name' in expression) {
      const optional = expression.fallback !== undefined;
      scan.variables.set(expression.name, (scan.variables.get(expression.name) ?? true) && optional);
    } else scan.problems.push({ path: at, message: expression.problem });
    return '';
  });
  if (count === 0) return literal;
  scan.touched.push(at);
  return '';
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
