import AjvDraft04, { type ErrorObject, type ValidateFunction } from 'ajv-draft-04';
import samSchema from './schemas/sam.schema.json' with { type: 'json' };

// SAM's implicit resources, which the transform creates and templates refer to (SAM docs, "Generated
// AWS CloudFormation resources").
const implicitResources = new Set(['ServerlessHttpApi', 'ServerlessRestApi']);
const MAX_LINES = 12;

// A CommonJS module: its class is the default export's `default` under Node's ESM interop and esbuild's.
const Ajv = AjvDraft04.default;
let ajv: InstanceType<typeof Ajv> | undefined;

/** The vendored SAM schema, compiled once; `strict: false` because it carries SAM's own `__sam*` keywords. */
function compiled(): InstanceType<typeof Ajv> {
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema(samSchema as object, 'sam');
  }
  return ajv;
}

/**
 * Validates a SAM template against the vendored SAM JSON Schema (draft-04, `adapters/lambda/schemas/`),
 * then checks what the schema cannot: every `Ref`, `Fn::GetAtt` and `${...}` in `Fn::Sub` names a
 * parameter, a resource or a pseudo parameter. One line per problem (each failing resource is validated
 * against its own type's definition, which names the bad property instead of every branch of the union).
 *
 * @example
 * validateSamTemplate(template); // [] when valid
 */
export function validateSamTemplate(template: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const whole = compiled().getSchema('sam') as ValidateFunction;
  if (!whole(template)) problems.push(...explain(template, whole.errors ?? []));
  problems.push(...unresolvedReferences(template));
  return problems.length > MAX_LINES
    ? [...problems.slice(0, MAX_LINES), `(${problems.length - MAX_LINES} more)`]
    : problems;
}

function explain(template: Record<string, unknown>, errors: ErrorObject[]): string[] {
  const resources = (template.Resources ?? {}) as Record<string, { Type?: string }>;
  const lines = new Set<string>();
  for (const [id, resource] of Object.entries(resources)) {
    const validate = resourceValidator(resource.Type);
    if (!validate || validate(resource)) continue;
    for (const error of validate.errors ?? [])
      lines.add(`Resources.${id}${dotted(error.instancePath)}: ${describe(error)}`);
  }
  if (lines.size === 0)
    for (const error of errors) lines.add(`${dotted(error.instancePath) || 'template'}: ${describe(error)}`);
  return [...lines];
}

/** `AWS::Serverless::Function` → the schema's `..._aws_serverless_function__Resource` definition. */
function resourceValidator(type: string | undefined): ValidateFunction | undefined {
  const match = /^AWS::Serverless::(\w+)$/.exec(type ?? '');
  if (!match?.[1]) return undefined;
  const definition = `samtranslator__internal__schema_source__aws_serverless_${match[1].toLowerCase()}__Resource`;
  return compiled().getSchema(`sam#/definitions/${definition}`);
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const detail = params.additionalProperty ?? params.missingProperty ?? params.allowedValues;
  return detail === undefined ? String(error.message) : `${error.message} (${JSON.stringify(detail)})`;
}

const dotted = (pointer: string): string =>
  pointer
    .split('/')
    .slice(1)
    .map((p) => `.${p}`)
    .join('');

function unresolvedReferences(template: Record<string, unknown>): string[] {
  const known = new Set([
    ...Object.keys((template.Parameters ?? {}) as object),
    ...Object.keys((template.Resources ?? {}) as object),
    ...implicitResources,
  ]);
  const problems: string[] = [];
  const visit = (value: unknown, at: string): void => {
    if (typeof value !== 'object' || value === null) return;
    for (const [key, item] of Object.entries(value)) {
      for (const name of referencedNames(key, item)) {
        if (!known.has(name) && !name.startsWith('AWS::')) {
          problems.push(`${at}: ${key} to ${name}, which is not defined`);
        }
      }
      visit(item, Array.isArray(value) ? `${at}[${key}]` : `${at}.${key}`);
    }
  };
  visit(template, 'template');
  return problems;
}

/** The logical names an intrinsic function refers to: `Ref`, `Fn::GetAtt`'s first item, `Fn::Sub`'s `${Name}`s. */
function referencedNames(key: string, value: unknown): string[] {
  if (key === 'Ref' && typeof value === 'string') return [value];
  if (key === 'Fn::GetAtt' && Array.isArray(value)) return [String(value[0])];
  if (key === 'Fn::Sub' && typeof value === 'string') {
    return [...value.matchAll(/\$\{([^}.!]+)[^}]*\}/g)].map((m) => m[1]!);
  }
  return [];
}
