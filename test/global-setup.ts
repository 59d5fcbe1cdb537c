import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Integration tests run what users run: the built package in dist/, its bundles and its declarations
 * (test/packaging/ compiles TypeScript projects against them). Build it once per test run.
 */
export default function setup(): void {
  execFileSync(process.execPath, [path.join(import.meta.dirname, '..', 'scripts', 'build.mjs')], {
    stdio: 'inherit',
  });
}
