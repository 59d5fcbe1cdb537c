// Starts a measured process with a clean environment: only PATH, HOME and what the caller names. The
// developer's environment must not leak in: this machine exports NODE_EXTRA_CA_CERTS, which makes every Node
// start read and parse a CA bundle (about 70 ms), and NODE_OPTIONS would change what is measured.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const KEEP = 8192;

/**
 * @param {string} command absolute path of the executable
 * @param {string[]} args
 * @param {{ cwd: string, env: Record<string, string> }} options
 * @returns a handle: `pid`, `spawnedAt` (performance.now() just before spawn), `exited`, `kill()`, `output()`
 */
export function spawnClean(command, args, { cwd, env }) {
  const cleanEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env };
  // Pipes, not 'ignore': on Lambda stdout and stderr are pipes too, so a runtime that logs pays for it here.
  const spawnedAt = performance.now();
  const child = spawn(command, args, { cwd, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString()).slice(-KEEP);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('error', (error) => {
    tail += `\nspawn error: ${error.message}`;
  });
  return {
    pid: child.pid,
    spawnedAt,
    exited,
    hasExited: () => child.exitCode !== null || child.signalCode !== null,
    output: () => tail,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
