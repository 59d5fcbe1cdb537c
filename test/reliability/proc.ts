import { readdirSync, readFileSync } from 'node:fs';

/** Open file descriptors of a process, from `/proc/<pid>/fd`. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident memory of a process in KiB, `VmRSS` from `/proc/<pid>/status`. */
export function residentKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

export const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

/** Waits `ms` (lets a process settle before it is measured). */
export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
