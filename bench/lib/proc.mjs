// Per-process figures from /proc (Linux only), read at the edges of a measured window so that the driver
// adds nothing while the runtime runs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond;

/** USER_HZ, the unit of utime and stime in /proc/<pid>/stat (100 on every Linux we know, but ask). */
export function clockTicksPerSecond() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU time the process has used so far, all its threads (V8's GC helpers, libuv's pool) included, in µs.
 * proc(5): after the command name in parentheses, utime and stime are fields 14 and 15.
 */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / clockTicksPerSecond();
}

/** Resident set size in MiB (VmRSS of /proc/<pid>/status). */
export function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** The driver's own CPU time in µs (for the mock's cost per invocation). */
export function ownCpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}
