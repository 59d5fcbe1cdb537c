import { createRequire } from 'node:module';

/** Node's own `import()` (see native-import.cjs). */
export const nativeImport: (specifier: string) => Promise<unknown> = createRequire(import.meta.url)(
  './native-import.cjs',
);
