// Writes the published type declarations into the directory named on the command line: one
// self-contained file per entry point (nothing of justfn's source layout, no types of the libraries it
// bundles), each twice: `.d.ts` for `import` and `.d.cts` for `require`, so that a CommonJS project
// under `module: node16` reads CommonJS declarations (TS1479 otherwise). The optional peers' imports
// (`pg`, `@grpc/grpc-js`, `undici`: the resource clients' types) are marked `@ts-ignore`, so a project
// that does not install them compiles without `skipLibCheck`, with those clients typed `any`.
// A script of its own so that scripts/build.mjs runs it beside the bundles: it is the build's slowest
// step (it type-checks the public API).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDtsBundle } from 'dts-bundle-generator';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const directory = path.resolve(process.argv[2]);
const entries = { index: 'runtime/index.ts', testing: 'bootstrap/testing.ts' };
const output = { noBanner: true, exportReferencedTypes: false };

const bundles = generateDtsBundle(
  Object.values(entries).map((filePath) => ({ filePath: path.join(root, filePath), output })),
  { preferredConfigPath: path.join(root, 'tsconfig.build.json') },
);
mkdirSync(directory, { recursive: true });
for (const [index, name] of Object.keys(entries).entries()) {
  const text = bundles[index].replace(
    /^import .* from '(?!node:)[^']+';$/gm,
    '// @ts-ignore -- an optional peer dependency: without its types, this client is typed `any`\n$&',
  );
  for (const extension of ['d.ts', 'd.cts'])
    writeFileSync(path.join(directory, `${name}.${extension}`), text);
}
