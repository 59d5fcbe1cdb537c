// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are justfn.yaml's own ${...} syntax.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { optionTable } from '../../../bootstrap/options.js';
import { renderJsonSchema, toJsonSchema } from '../../../runtime/config/json-schema.js';
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
