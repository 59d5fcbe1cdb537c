import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionTable } from '../bootstrap/options.js';
import { errorCatalog } from '../runtime/errors.js';
import { repoRoot } from './helpers/process.js';

/** The rows of every markdown table in a file, as arrays of trimmed cells. */
function tableRows(file: string): string[][] {
  return readFileSync(path.join(repoRoot, file), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
}

const shownDefault = (option: { default: unknown; shown?: string }) =>
  option.shown ?? (option.default === undefined ? 'unset' : `\`${String(option.default)}\``);

describe('docs stay in step with the code', () => {
  it('docs/errors.md lists every error with its wire name and status', () => {
    const rows = tableRows('docs/errors.md');
    for (const [code, { type, status }] of Object.entries(errorCatalog)) {
      expect(rows, code).toContainEqual([`\`${code}\``, `\`${type}\``, String(status), expect.any(String)]);
    }
    const documented = rows.filter((r) => r.length === 4 && /^`[A-Z_]+`$/.test(r[0]!)).map((r) => r[0]);
    expect(documented.sort()).toEqual(
      Object.keys(errorCatalog)
        .map((c) => `\`${c}\``)
        .sort(),
    );
  });

  it('docs/configuration.md lists every option with its default', () => {
    const rows = tableRows('docs/configuration.md');
    for (const option of Object.values(optionTable)) {
      const vars = option.env.map((v) => `\`${v}\``).join(' / ');
      expect(rows, vars).toContainEqual([vars, shownDefault(option), option.doc]);
    }
    expect(rows.length - 1).toBe(Object.keys(optionTable).length);
  });

  it("the README's variables table agrees with the option table", () => {
    const byVariables = new Map(
      Object.values(optionTable).map((o) => [o.env.map((v) => `\`${v}\``).join(' / '), o]),
    );
    const rows = tableRows('README.md').filter((r) => byVariables.has(r[0]!));
    expect(rows.length).toBeGreaterThan(10);
    for (const [vars, shown] of rows) expect(shown, vars).toBe(shownDefault(byVariables.get(vars!)!));
  });
});

describe('docs/metrics.md', () => {
  it('lists every metric justfn registers', async () => {
    const { createMetrics } = await import('../runtime/metrics.js');
    const { createMetricsRecorder } = await import('../runtime/metrics-recorder.js');
    const { registry } = createMetrics(
      { inFlight: () => 0, queued: () => 0 },
      () => 0,
      createMetricsRecorder(),
    );
    const text = readFileSync(path.join(repoRoot, 'docs', 'metrics.md'), 'utf8');
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(text, name).toContain(`\`${name}\``);
  });
});
