import { type ConfigPath, type Problem, pathKey } from './problems.js';

/**
 * The part of JSON Schema that `serviceSchema` uses, as this walker reads it.
 *
 * @example
 * const port: SchemaNode = { type: 'integer', minimum: 1, maximum: 65535, default: 8080 };
 */
export interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean;
  patternProperties?: Record<string, SchemaNode>;
  propertyNames?: { pattern?: string; patternErrorMessage?: string };
  anyOf?: SchemaNode[];
  not?: { required?: string[]; errorMessage?: string };
  const?: unknown;
  default?: unknown;
  pattern?: string;
  patternErrorMessage?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
}

/**
 * What the walk needs besides the schema: where substitutions were (their values are secret, and a whole
 * `${VAR}` may stand for a number), and where problems go.
 *
 * @example
 * const walk: Walk = { touched: new Set(), whole: new Set(), problems: [] };
 */
export interface Walk {
  touched: ReadonlySet<string>;
  whole: ReadonlySet<string>;
  problems: Problem[];
}

type Doc = Record<string, unknown>;
const isMapping = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks `value` against `node` and returns it with defaults filled in and whole substitutions turned into
 * the numbers or booleans the schema asks for. Every problem found is pushed, one per place, with a
 * message precise enough to fix the file without reading the schema; values that came from a substitution
 * are never quoted.
 *
 * @example
 * const walk = { touched: new Set<string>(), whole: new Set<string>(), problems: [] };
 * normalise(serviceSchema, { name: 'users' }, [], walk); // { name: 'users', handler: 'index.handler', ... }
 */
export function normalise(node: SchemaNode, value: unknown, path: ConfigPath, walk: Walk): unknown {
  if (node.anyOf) return normaliseUnion(node.anyOf, value, path, walk);
  if (node.type === 'object') return normaliseObject(node, value, path, walk);
  return normaliseLeaf(node, value, path, walk);
}

function normaliseUnion(branches: SchemaNode[], value: unknown, path: ConfigPath, walk: Walk): unknown {
  const literals: unknown[] = branches.map((b) => b.const);
  if (!literals.includes(undefined)) {
    if (!literals.includes(value))
      fail(walk, path, `expected one of ${literals.join(', ')}, got ${shown(value, path, walk)}`);
    return value;
  }
  // A union of objects is discriminated on `kind`.
  const kinds = branches.map((b) => b.properties?.kind?.const);
  if (!isMapping(value))
    return fail(walk, path, `expected a mapping, got ${shown(value, path, walk)}`, value);
  const kindPath = [...path, 'kind'];
  if (value.kind === undefined) return fail(walk, kindPath, `required (one of ${kinds.join(', ')})`, value);
  const branch = branches[kinds.indexOf(value.kind)];
  if (!branch) {
    return fail(
      walk,
      kindPath,
      `expected one of ${kinds.join(', ')}, got ${shown(value.kind, kindPath, walk)}`,
      value,
    );
  }
  return normaliseObject(branch, value, path, walk);
}

function normaliseObject(node: SchemaNode, value: unknown, path: ConfigPath, walk: Walk): unknown {
  if (!isMapping(value))
    return fail(walk, path, `expected a mapping, got ${shown(value, path, walk)}`, value);
  const out: Doc = {};
  const keyPattern = node.propertyNames?.pattern ? new RegExp(node.propertyNames.pattern) : undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = [...path, key];
    // Own keys only: `constructor` or `toString` in a file is not a schema's property.
    const child =
      (node.properties && Object.hasOwn(node.properties, key) ? node.properties[key] : undefined) ??
      patternChild(node, key);
    if (child && (!keyPattern || keyPattern.test(key))) {
      define(out, key, normalise(child, item, at, walk));
    } else if (node.patternProperties && keyPattern && !keyPattern.test(key)) {
      fail(
        walk,
        at,
        `not a valid name: ${node.propertyNames?.patternErrorMessage ?? `must match ${keyPattern}`}`,
      );
    } else if (node.additionalProperties === false) {
      fail(walk, at, 'unknown key');
    }
  }
  for (const key of node.required ?? []) {
    if (!Object.hasOwn(value, key)) fail(walk, [...path, key], 'required');
  }
  const together = node.not?.required;
  if (together?.every((key) => Object.hasOwn(value, key))) {
    const why = node.not?.errorMessage ? `: ${node.not.errorMessage}` : '';
    const last = together.at(-1) ?? '';
    fail(walk, [...path, last], `cannot be used together with ${together.slice(0, -1).join(', ')}${why}`);
  }
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (!Object.hasOwn(value, key) && child.default !== undefined) {
      define(out, key, normalise(child, structuredClone(child.default), [...path, key], walk));
    }
  }
  return out;
}

function patternChild(node: SchemaNode, key: string): SchemaNode | undefined {
  for (const [pattern, child] of Object.entries(node.patternProperties ?? {})) {
    if (new RegExp(pattern).test(key)) return child;
  }
  return undefined;
}

function normaliseLeaf(node: SchemaNode, raw: unknown, path: ConfigPath, walk: Walk): unknown {
  const value = walk.whole.has(pathKey(path)) ? coerce(node.type, raw) : raw;
  const problem = leafProblem(node, value);
  if (problem) fail(walk, path, `${problem}, got ${shown(value, path, walk)}`);
  return value;
}

function coerce(type: string | undefined, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  if (type === 'boolean' && /^(true|false)$/.test(value.trim())) return value.trim() === 'true';
  return value;
}

const expected: Record<string, string> = {
  string: 'expected a string',
  integer: 'expected an integer',
  number: 'expected a number',
  boolean: 'expected true or false',
};

function leafProblem(node: SchemaNode, value: unknown): string | undefined {
  const type = node.type ?? 'string';
  const typed =
    type === 'integer'
      ? Number.isInteger(value)
      : type === 'number'
        ? typeof value === 'number'
        : typeof value === type;
  if (!typed) return expected[type] ?? `expected ${type}`;
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) return `must be at least ${node.minimum}`;
    if (node.exclusiveMinimum !== undefined && value <= node.exclusiveMinimum) {
      return `must be more than ${node.exclusiveMinimum}`;
    }
    if (node.maximum !== undefined && value > node.maximum) return `must be at most ${node.maximum}`;
  }
  if (typeof value === 'string') {
    if (node.minLength !== undefined && value.length < node.minLength) return 'must not be empty';
    if (node.maxLength !== undefined && value.length > node.maxLength) {
      return `must be at most ${node.maxLength} characters`;
    }
    if (node.pattern && !new RegExp(node.pattern).test(value)) {
      return node.patternErrorMessage ?? `expected a string matching ${node.pattern}`;
    }
  }
  return undefined;
}

/** How a value reads in a message; a value that came from a substitution is a secret and is not shown. */
function shown(value: unknown, path: ConfigPath, walk: Walk): string {
  if (walk.touched.has(pathKey(path))) return 'a value from a substitution';
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  return String(value);
}

function fail<T>(walk: Walk, path: ConfigPath, message: string, result?: T): T | undefined {
  walk.problems.push({ path, message });
  return result;
}

function define(target: Doc, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
