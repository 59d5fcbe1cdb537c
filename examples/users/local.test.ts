import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cleanEnv, spawnCaptured } from '../../test/helpers/process.js';

// `npm run example:users` as a user runs it: one command starts PostgreSQL, the auth function (gRPC) and
// the users function (HTTP), and prints curl lines — which must work exactly as printed. Ctrl-C stops
// everything.

const run = promisify(execFile);

describe('npm run example:users', () => {
  it('starts everything, prints curl lines that work as printed, and stops on Ctrl-C', async () => {
    const local = spawnCaptured(
      ['node', path.join(import.meta.dirname, 'local.mjs')],
      cleanEnv({ PORT: '0', JUSTFN_METRICS_PORT: '0' }),
    );
    try {
      await local.waitForOutput('Ctrl-C stops', 30_000);
      const curls = local
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('  curl '))
        .map((line) => line.trim());
      expect(curls).toHaveLength(4);
      const statuses: string[] = [];
      for (const curl of curls) {
        const { stdout } = await run('sh', ['-c', `${curl} -s -o /dev/null -w '%{http_code}'`]);
        statuses.push(stdout);
      }
      // Read the seeded user, create one, a read-only token refused, no token refused.
      expect(statuses).toEqual(['200', '201', '403', '401']);
    } finally {
      local.child.kill('SIGINT');
    }
    expect(await local.exited).toBe(130);
    expect(local.stdout()).toContain('"msg":"justfn is serving gRPC auth.v1.Auth (index.auth)');
    // Both functions drained before the database went away.
    expect(local.stdout().match(/"msg":"drained: exiting"/g)).toHaveLength(2);
  });
});
