import { serviceSchema } from './schema.js';

/** Draft-07: the newest draft that the YAML and JSON editors in use all understand; the schema needs no more. */
const draft = 'http://json-schema.org/draft-07/schema#';

type Node = Record<string, unknown>;

/** A value an editor cannot check, because it is known only once substituted. */
const substitution: Node = {
  type: 'string',
  pattern: '\\$\\{',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: justfn.yaml's own ${...} syntax, not JS.
  description: 'Substituted when loaded: ${VAR}, ${VAR:-default} or ${file:PATH}',
};

/**
 * The JSON Schema of `justfn.yaml`, for editors (`# yaml-language-server: $schema=...`) and other tools:
 * `serviceSchema` as plain JSON (TypeBox schemas are JSON Schema already), where every constrained value
 * also accepts a string holding `${...}`, since an editor sees the file before substitution. The package
 * ships it as `schema/justfn.schema.json`; a test fails when that file is stale.
 *
 * @example
 * writeFileSync('justfn.schema.json', JSON.stringify(toJsonSchema(), null, 2));
 */
export function toJsonSchema(): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(serviceSchema)) as Node;
  return { $schema: draft, ...allowSubstitutions(plain), definitions: { substitution } };
}

/**
 * {@link toJsonSchema} as the text of `schema/justfn.schema.json`.
 *
 * @example
 * writeFileSync('schema/justfn.schema.json', renderJsonSchema());
 */
export function renderJsonSchema(): string {
  return `${JSON.stringify(toJsonSchema(), null, 2)}\n`;
}

function allowSubstitutions(node: Node, key?: string): Node {
  if (isConstrainedLeaf(node) && key !== 'kind') {
    const { description, default: fallback, ...leaf } = node;
    const outer: Node = {};
    if (description !== undefined) outer.description = description;
    if (fallback !== undefined) outer.default = fallback;
    return { ...outer, anyOf: [leaf, { $ref: '#/definitions/substitution' }] };
  }
  const out: Node = {};
  for (const [name, value] of Object.entries(node)) {
    out[name] =
      name === 'properties' || name === 'patternProperties' ? mapValues(value as Node) : descend(value);
  }
  return out;
}

function mapValues(children: Node): Node {
  return Object.fromEntries(Object.entries(children).map(([k, v]) => [k, allowSubstitutions(v as Node, k)]));
}

function descend(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(descend);
  return value !== null && typeof value === 'object' ? allowSubstitutions(value as Node) : value;
}

/** A number, a boolean, a string with a constraint, or a choice among constants. */
function isConstrainedLeaf(node: Node): boolean {
  if (node.type === 'integer' || node.type === 'number' || node.type === 'boolean') return true;
  if (node.type === 'string') return ['pattern', 'minLength', 'maxLength', 'const'].some((k) => k in node);
  const options = node.anyOf;
  return Array.isArray(options) && options.every((o) => (o as Node).const !== undefined);
}
