import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p`, one level at a time. Node's `mkdirSync(dir, { recursive: true })` spins for ever where
 * mkdir answers ENOENT under a parent that exists (`/proc/nope`); this throws that error instead, and
 * EEXIST for a file in the way.
 *
 * @example
 * makeDirectory('deploy/knative'); // creates deploy/ and deploy/knative/ as needed
 */
export function makeDirectory(dir: string): void {
  if (existsSync(dir)) {
    if (statSync(dir).isDirectory()) return;
    mkdirSync(dir); // EEXIST, naming it
  }
  const parent = path.dirname(dir);
  if (parent !== dir) makeDirectory(parent);
  mkdirSync(dir);
}
