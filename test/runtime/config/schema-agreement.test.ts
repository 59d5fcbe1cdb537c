import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../../runtime/config/load.js';
import { serviceSchema } from '../../../runtime/config/schema.js';

// A process checks a justfn.yaml with the walker alone (runtime/config/normalise.ts, reading the schema as
// plain JSON): TypeBox's compiled check of the same schema is the reference it must not drift from. Every
// justfn.yaml in the repository that loads must give a config the reference accepts.

const root = path.resolve(import.meta.dirname, '../../..');
const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
  .filter((file) => path.basename(file) === 'justfn.yaml' && !file.split(path.sep).includes('node_modules'))
  .map((file) => path.join(root, file));

/** A plausible value for each variable a file names, by the shape its name suggests. */
const env = new Proxy({} as Record<string, string>, {
  get: (_, name: string) =>
    /URL$/.test(name)
      ? 'postgres://user:password@127.0.0.1:5432/db'
      : /ORIGIN$/.test(name)
        ? 'http://127.0.0.1:8080'
        : /TARGET$/.test(name)
          ? '127.0.0.1:50051'
          : 'value',
});

describe('the walker and the schema agree', () => {
  it('every justfn.yaml of the repository that loads passes TypeBox’s check of serviceSchema', () => {
    const reference = Compile(serviceSchema);
    const loaded = files.flatMap((file) => {
      try {
        return [{ file, config: loadServiceConfig(file, env).config }];
      } catch {
        return []; // the broken fixtures: their messages are tested where they are used
      }
    });
    expect(loaded.length).toBeGreaterThanOrEqual(15);
    for (const { file, config } of loaded) {
      expect([path.relative(root, file), [...reference.Errors(config)]]).toEqual([
        path.relative(root, file),
        [],
      ]);
    }
  });
});
