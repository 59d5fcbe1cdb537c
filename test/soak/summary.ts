import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Global setup of `npm run soak`: the tests append their figures to one file (test/reliability/report.ts);
// at the end they are printed together, as the closing note wants them.

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'justfn-soak-'));
  const file = path.join(dir, 'figures.jsonl');
  process.env.JUSTFN_RELIABILITY_REPORT = file;
  return () => {
    let lines: Record<string, unknown>[] = [];
    try {
      lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
    const mib = (kib: unknown) => `${(Number(kib) / 1024).toFixed(1)} MiB`;
    const out: string[] = ['', 'justfn reliability figures', ''];
    for (const l of lines.filter((l) => l.kind === 'soak')) {
      out.push(
        `  ${l.source}: ${l.sent} sent, lost ${l.lost}, duplicated ${l.duplicated}, failed ${l.failed}, ` +
          `memory ${mib(l.rssCheckpointKiB)} → ${mib(l.rssEndKiB)} (drift ${mib(l.driftKiB)}), ` +
          `fds ${l.fdsStart} → ${l.fdsEnd}, ${Number(l.seconds).toFixed(0)} s`,
      );
    }
    for (const l of lines.filter((l) => l.kind === 'figure')) out.push(`  ${l.name}: ${l.value} ${l.unit}`);
    const families = lines.filter((l) => l.kind === 'hostile');
    if (families.length > 0) {
      out.push('  hostile cases tried:');
      for (const l of families) out.push(`    ${l.family}: ${l.cases}`);
    }
    process.stdout.write(`${out.join('\n')}\n\n`);
  };
}
