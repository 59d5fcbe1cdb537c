import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Integration tests run what users run: the built bundles in dist/. Build them once per test run. */
export default function setup(): void {
  execFileSync(
    process.execPath,
    [path.join(import.meta.dirname, '..', 'scripts', 'build.mjs'), '--bundles-only'],
    {
      stdio: 'inherit',
    },
  );
}
