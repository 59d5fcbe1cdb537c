import { describe, expect, it } from 'vitest';
import { cleanEnv, spawnCaptured } from '../helpers/process.js';

describe('justfn --help', () => {
  // `start` takes a fast path past the command-line bundle; --help must not become its handler string.
  it.each(['start', 'invoke', 'emulate', 'check', 'manifests', 'layer'])(
    'justfn %s --help prints the usage and exits 0',
    async (command) => {
      const run = spawnCaptured(['node', 'bin/justfn.cjs', command, '--help'], cleanEnv({}));
      expect(await run.exited).toBe(0);
      expect(run.stdout()).toMatch(/^justfn \S+: one Lambda handler/);
      expect(run.stdout()).toContain(`justfn ${command} `);
      expect(run.stderr()).toBe('');
    },
  );
});
