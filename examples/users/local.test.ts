import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cleanEnv, spawnCaptured } from '../../test/helpers/process.js';

// `npm run example:users` as a user runs it: one command starts PostgreSQL, the auth function (gRPC) and
// the users function (HTTP), and prints curl lines — which must work exactly as printed. Ctrl-C stops
// everything.

const run = promisify(execFile);

/** The PostgreSQL server process listening on `port` (its command line is `postgres -D DIR -p PORT …`). */
function postmasterOn(port: number): number {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('/postgres') && args[args.indexOf('-p') + 1] === String(port)) return Number(pid);
    } catch {}
  }
  throw new Error(`no postgres process on port ${port}`);
}

/** A process's group id (/proc/PID/stat's fifth field, after the parenthesised command). */
function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

describe('npm run example:users', () => {
  it('starts everything, prints curl lines that work as printed, and stops on Ctrl-C', async () => {
    // A terminal's Ctrl-C signals the whole foreground process group: run it as one and signal that.
    const local = spawnCaptured(
      ['node', path.join(import.meta.dirname, 'local.mjs')],
      cleanEnv({ PORT: '0', JUSTFN_METRICS_PORT: '0' }),
      undefined,
      true,
    );
    let postgres: number | undefined;
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
      // PostgreSQL is outside the group: Ctrl-C would otherwise end its sessions (a fast shutdown) while
      // the functions still drain.
      const port = /PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(local.stdout())?.[1];
      postgres = postmasterOn(Number(port));
      expect(processGroup(postgres)).not.toBe(local.child.pid);
    } finally {
      process.kill(-local.child.pid!, 'SIGINT');
    }
    expect(await local.exited).toBe(130);
    expect(existsSync(`/proc/${postgres}`)).toBe(false);
    expect(local.stdout()).toContain('"msg":"justfn is serving gRPC auth.v1.Auth (index.auth)');
    // Both functions drained before the database went away.
    expect(local.stdout().match(/"msg":"drained: exiting"/g)).toHaveLength(2);
  });
});
