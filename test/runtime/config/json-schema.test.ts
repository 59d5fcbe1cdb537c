// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are justfn.yaml's own ${...} syntax.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { optionTable } from '../../../bootstrap/options.js';
import { renderJsonSchema, toJsonSchema } from '../../../runtime/config/json-schema.js';
import { resourceSchemas } from '../../../runtime/config/resource-schemas.js';
import { serviceSchema } from '../../../runtime/config/schema.js';

const committed = fileURLToPath(new URL('../../../schema/justfn.schema.json', import.meta.url));
const docs = fileURLToPath(new URL('../../../docs/resources.md', import.meta.url));

describe('the JSON Schema for editors', () => {
  it('schema/justfn.schema.json is what toJsonSchema() produces', () => {
    // To regenerate: JUSTFN_WRITE_SCHEMA=1 npx vitest run test/runtime/config/json-schema.test.ts
    if (process.env.JUSTFN_WRITE_SCHEMA === '1') writeFileSync(committed, renderJsonSchema());
    const onDisk = JSON.parse(readFileSync(committed, 'utf8')) as unknown;
    expect(onDisk, 'schema/justfn.schema.json is stale: regenerate it (see this test)').toEqual(
      toJsonSchema(),
    );
  });

  const editor = Compile(toJsonSchema());

  it('accepts the example of docs/resources.md as written, ${...} and all', () => {
    const example = /```yaml\n(# yaml-language-server: \$schema=[^\n]+\n[\s\S]*?)```/.exec(
      readFileSync(docs, 'utf8'),
    );
    expect(example?.[1]).toBeDefined();
    const document = parse(example?.[1] ?? '') as Record<string, unknown>;
    expect(editor.Errors(document)).toEqual([]);
    expect(JSON.stringify(document)).toContain('${DATABASE_URL}');
  });

  it('still flags what the loader rejects: unknown keys, bad kinds, http with grpc', () => {
    expect(editor.Check({ name: 'users', colour: 'red' })).toBe(false);
    expect(editor.Check({ name: 'users', resources: { db: { kind: 'redis', url: 'x' } } })).toBe(false);
    expect(editor.Check({ name: 'users', http: {}, grpc: { proto: 'a.proto', service: 'a.A' } })).toBe(false);
    expect(editor.Check({ name: 'users', timeout: '${TIMEOUT}' })).toBe(true);
    expect(editor.Check({ name: 'users', timeout: 'soon' })).toBe(false);
  });
});

describe('schema defaults', () => {
  const property = (name: string) =>
    (
      serviceSchema.properties as unknown as Record<
        string,
        { default?: unknown; properties?: Record<string, { default?: unknown }> }
      >
    )[name];

  it('agree with the environment option table that overrides them', () => {
    expect(property('timeout')?.default).toBe(optionTable.timeout.default);
    expect(property('concurrency')?.default).toBe(optionTable.concurrency.default);
    expect(property('http')?.properties?.port?.default).toBe(optionTable.port.default);
    expect(property('http')?.properties?.event?.default).toBe(optionTable.httpEvent.default);
    expect(property('handler')?.default).toBe('index.handler');
  });
});

interface Node {
  type?: string;
  default?: unknown;
  properties?: Record<string, Node>;
}

/** Every leaf key of an object schema, dotted, with its default. */
function leaves(node: Node, prefix = ''): [string, unknown][] {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]) =>
    child.type === 'object' && child.properties
      ? leaves(child, `${prefix}${key}.`)
      : [[`${prefix}${key}`, child.default]],
  );
}

describe('docs/resources.md', () => {
  const rows = readFileSync(docs, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split(' | ').map((cell) => cell.replace(/^\|?\s*|\s*\|?$/g, '')));
  const row = (key: string) => rows.find((cells) => cells[0] === `\`${key}\``);

  it('lists every key of the schema with its default', () => {
    const keys = leaves(serviceSchema as unknown as Node).filter(([key]) => key !== 'resources');
    keys.push(['resources.<name>', undefined]);
    for (const schema of Object.values(resourceSchemas)) keys.push(...leaves(schema as unknown as Node));
    for (const [key, fallback] of keys) {
      expect(row(key), key).toBeDefined();
      if (fallback !== undefined) expect(row(key)?.[2], key).toMatch(new RegExp(`^\`${String(fallback)}\``));
    }
  });
});
