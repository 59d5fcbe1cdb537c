import path from 'node:path';
import { defineConfig } from 'vitest/config';

// `npm run soak`: the long runs of test/reliability/ — 100,000 invocations through each source, the
// database outage with its recovery time measured, the hostile-input families with many more cases — one
// file at a time, so that nothing else competes for the two cores while memory and time are measured.
// Every figure is printed, and summarised at the end (summary.ts).
const root = path.resolve(import.meta.dirname, '..', '..');

export default defineConfig({
  root,
  test: {
    include: [
      'test/soak/**/*.soak.ts',
      'test/reliability/database-outage.test.ts',
      'test/reliability/hostile-*.test.ts',
    ],
    globalSetup: ['test/global-setup.ts', 'test/soak/summary.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
    env: { JUSTFN_HOSTILE_RUNS: process.env.JUSTFN_HOSTILE_RUNS ?? '1000' },
  },
});
