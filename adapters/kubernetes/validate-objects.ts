/**
 * A generated object: a `kubernetes-models` class instance, which validates itself against the JSON Schema
 * of its kind (the Kubernetes OpenAPI schema, or the CRD's for Knative and Istio).
 *
 * @example
 * const object: ManifestObject = new Deployment({ metadata: { name: 'users' }, spec });
 */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string } | undefined;
  validate(): void;
  toJSON(): unknown;
}

/**
 * Every object against its schema, and every port name against the rule Kubernetes applies to them
 * (IANA_SVC_NAME: at most 15 lowercase letters, digits and single hyphens, with a letter). One line per
 * problem, naming the kind and the object.
 *
 * @example
 * validateObjects([deployment, service]); // [] when all are valid
 */
export function validateObjects(objects: readonly ManifestObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const where = `${object.kind} ${object.metadata?.name ?? ''}`;
    try {
      object.validate();
    } catch (error) {
      for (const line of String((error as Error).message).split(', ')) problems.push(`${where}: ${line}`);
    }
    for (const name of portNames(object.toJSON())) {
      if (!isServiceName(name))
        problems.push(`${where}: port name ${JSON.stringify(name)} is not a valid port name`);
    }
  }
  return problems;
}

function isServiceName(name: string): boolean {
  return name.length <= 15 && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(name) && /[a-z]/.test(name);
}

/** The `name` of every entry of every `ports` list, anywhere in the object. */
function portNames(value: unknown, inPorts = false): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => portNames(item, inPorts));
  if (typeof value !== 'object' || value === null) return [];
  const names: string[] = [];
  const record = value as Record<string, unknown>;
  if (inPorts && typeof record.name === 'string' && record.name !== '') names.push(record.name);
  for (const [key, item] of Object.entries(record)) names.push(...portNames(item, key === 'ports'));
  return names;
}
