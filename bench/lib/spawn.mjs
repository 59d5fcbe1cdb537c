// Starts a measured process with a clean environment: only PATH, HOME and what the caller names. The
// developer's environment must not leak in: this machine exports NODE_EXTRA_CA_CERTS, which makes every Node
// start read and parse a CA bundle (about 70 ms), and NODE_OPTIONS would change what is measured.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

// justfn's bootstrap script finds `node` on PATH: put the driver's own Node first, so that every runtime,
// whichever way it is started, runs the same binary.
const PATH = [path.dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter);

const KEEP = 8192;

/**
 * @param {string} command the executable: an absolute path, or a name looked up on the clean PATH
 * @param {string[]} args
 * @param {{ cwd: string, env: Record<string, string>, cpu?: number }} options `cpu`: run it, and every
 *   thread it will have, on that CPU only (util-linux's taskset, which then execs the command: same pid)
 * @returns a handle: `pid`, `spawnedAt` (performance.now() just before spawn), `exited`, `kill()`, `output()`
 */
export function spawnClean(command, args, { cwd, env, cpu }) {
  const cleanEnv = { PATH, HOME: process.env.HOME ?? '/tmp', ...env };
  // Pipes, not 'ignore': on Lambda stdout and stderr are pipes too, so a runtime that logs pays for it here.
  const spawnedAt = performance.now();
  const [file, argv] =
    cpu === undefined ? [command, args] : ['taskset', ['-c', String(cpu), command, ...args]];
  const child = spawn(file, argv, { cwd, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
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
