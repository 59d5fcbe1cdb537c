// Per-process figures from /proc (Linux only), read at the edges of a measured window so that the driver
// adds nothing while the runtime runs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

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

/**
 * `cpuMicros` of a live runtime (`{ name, child }` with spawnClean's handle), or an error that says it has
 * exited and shows its last output, rather than a bare ENOENT from /proc.
 */
export function cpuOf({ name, child }) {
  try {
    return cpuMicros(child.pid);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
    throw new Error(`${name} (pid ${child.pid}) has exited:\n${child.output()}`);
  }
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

/**
 * CPU time the whole machine has been busy (all CPUs, every state but idle and iowait) in µs, from the first
 * line of /proc/stat. Less the measured processes' own time, it shows how much else ran meanwhile.
 */
export function machineBusyMicros() {
  const line = readFileSync('/proc/stat', 'latin1').slice(0, 256).split('\n')[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = ticks.reduce((a, b) => a + b, 0) - ticks[3] - ticks[4];
  return (busy * 1e6) / clockTicksPerSecond();
}

/**
 * A gate to pass before each measurement, while the measured processes are idle themselves: it waits (at
 * most `maxWaitMs`) until the machine has been nearly idle for a short spell. The machine is shared with
 * other people's builds and tests; a measurement taken while one of them runs compares a runtime with that
 * job, not with its peers. `summary()` says how long it waited and how often it gave up.
 */
export function createQuietGate({ busyShare = 0.15, spellMs = 300, maxWaitMs = 10_000 } = {}) {
  const cores = cpus().length;
  let passes = 0;
  let busyPasses = 0;
  let waitedMs = 0;
  return {
    async wait() {
      const started = performance.now();
      for (;;) {
        const busy = machineBusyMicros();
        const at = performance.now();
        await sleep(spellMs);
        const share = (machineBusyMicros() - busy) / ((performance.now() - at) * 1000 * cores);
        const waited = performance.now() - started;
        if (share <= busyShare || waited >= maxWaitMs) {
          passes += 1;
          waitedMs += waited - spellMs;
          if (share > busyShare) busyPasses += 1;
          return;
        }
      }
    },
    summary: () =>
      `before each measurement the bench waited for other processes to use under ${busyShare * 100}% of the ` +
      `machine for ${spellMs} ms (at most ${maxWaitMs / 1000} s): ${(waitedMs / 1000).toFixed(0)} s waited in all, ` +
      `${busyPasses} of ${passes} measurements started on a busy machine anyway`,
  };
}

/**
 * Pins the calling thread (the driver's main thread, where the mock runs) to one CPU; processes it spawns
 * inherit that. Returns a function that undoes it. Uses util-linux's taskset.
 */
export function pinToOneCpu(cpu = cpus().length - 1) {
  const all = cpus()
    .map((_, i) => i)
    .join(',');
  execFileSync('taskset', ['-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
  return () => execFileSync('taskset', ['-pc', all, String(process.pid)], { stdio: 'ignore' });
}

/**
 * Pins every thread of this process (the driver: its main thread and V8's and libuv's helpers) to `cpu`;
 * new threads inherit it. Returns a function that undoes it. For suites whose load generator runs in the
 * driver and needs a core of its own, away from the server it drives.
 */
export function pinDriverTo(cpu) {
  const all = cpus()
    .map((_, i) => i)
    .join(',');
  execFileSync('taskset', ['-apc', String(cpu), String(process.pid)], { stdio: 'ignore' });
  return () => execFileSync('taskset', ['-apc', all, String(process.pid)], { stdio: 'ignore' });
}
