import { readFileSync } from 'node:fs';

/**
 * The container's memory limit in MB, as `context.memoryLimitInMB` wants it (a string), from cgroup v2
 * (`memory.max`) or v1 (`memory.limit_in_bytes`); undefined when there is no limit.
 */
export function cgroupMemoryLimitMb(root = '/sys/fs/cgroup'): string | undefined {
  for (const file of [`${root}/memory.max`, `${root}/memory/memory.limit_in_bytes`]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      continue;
    }
    const bytes = Number(text);
    // "max" (v2) or a near-2^63 sentinel (v1) mean no limit.
    if (!Number.isFinite(bytes) || bytes <= 0 || bytes >= 2 ** 60) return undefined;
    return String(Math.floor(bytes / (1024 * 1024)));
  }
  return undefined;
}
