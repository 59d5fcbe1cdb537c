import { appendFileSync } from 'node:fs';
import { mib } from './proc.js';
import type { SoakFigures } from './soak.js';

// The figures the reliability tests produce: printed, and appended as JSON lines to
// $JUSTFN_RELIABILITY_REPORT when it is set (`npm run soak` sets it and prints a summary at the end).

function emit(record: Record<string, unknown>, line: string): void {
  console.log(line);
  const file = process.env.JUSTFN_RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(record)}\n`);
}

export const report = {
  soak(figures: SoakFigures): void {
    const drift = figures.rssEndKiB - figures.rssCheckpointKiB;
    emit(
      { kind: 'soak', ...figures, driftKiB: drift },
      `soak ${figures.source}: ${figures.sent} sent, ${figures.answered} answered once, lost ${figures.lost}, ` +
        `duplicated ${figures.duplicated}, failed ${figures.failed}; RSS ${mib(figures.rssCheckpointKiB)} ` +
        `→ ${mib(figures.rssEndKiB)} (drift ${drift >= 0 ? '+' : ''}${mib(drift)}); fds ${figures.fdsStart} → ` +
        `${figures.fdsEnd}; ${figures.seconds.toFixed(1)} s (${Math.round(figures.sent / figures.seconds)}/s)`,
    );
  },
  /** How many hostile cases one family tried. */
  hostile(family: string, cases: number): void {
    emit({ kind: 'hostile', family, cases }, `hostile ${family}: ${cases} cases`);
  },
  /** Any other figure: the database's recovery time, for one. */
  figure(name: string, value: number, unit: string): void {
    emit({ kind: 'figure', name, value, unit }, `${name}: ${value} ${unit}`);
  },
};
