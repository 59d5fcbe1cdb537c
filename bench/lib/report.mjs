// Turns a suite's raw samples into a summary (medians, per-round comparisons, verdicts) and a markdown table.
import { median, meets, paired, range } from './stats.mjs';

/**
 * @param suite the suite module's description (name, title, subject, baseline, metrics, comparisons)
 * @param result what its run() returned (runtimes, rounds, samples[runtime][metric][round], notes)
 */
export function summarise(suite, result) {
  const medians = {};
  for (const name of result.runtimes) {
    medians[name] = {};
    for (const metric of suite.metrics)
      medians[name][metric.key] = median(result.samples[name][metric.key] ?? []);
  }
  const baseline = result.samples[suite.baseline];
  // Every runtime is compared with the baseline round by round; only the subject's figures carry a verdict.
  const comparisons = suite.comparisons.map((comparison) => {
    const byRuntime = {};
    for (const name of result.runtimes) {
      const perRound = paired(
        result.samples[name][comparison.metric],
        baseline[comparison.metric],
        comparison.kind,
      );
      byRuntime[name] = { median: median(perRound), range: range(perRound), perRound };
    }
    const value = byRuntime[suite.subject].median;
    return { ...comparison, byRuntime, value, pass: meets(value, comparison.target) };
  });
  return {
    suite: suite.name,
    title: suite.title,
    subject: suite.subject,
    baseline: suite.baseline,
    rounds: result.rounds,
    metrics: suite.metrics.map(({ key, label, decimals }) => ({ key, label, decimals })),
    medians,
    comparisons,
    notes: result.notes,
    samples: result.samples,
    pass: comparisons.every((c) => c.pass),
  };
}

const fixed = (value, decimals) => (Number.isFinite(value) ? value.toFixed(decimals) : '—');
const targetText = ({ op, value }) => `${op === '<=' ? '≤' : '≥'} ${value}`;
const formatComparison = (kind, value) =>
  kind === 'delta' ? `${value >= 0 ? '+' : ''}${fixed(value, 1)}` : `${fixed(value, 2)}×`;

/** The suite's section of the markdown report. */
export function toMarkdown(summary) {
  const { subject, baseline } = summary;
  const head = [
    'runtime',
    ...summary.metrics.map((m) => m.label),
    ...summary.comparisons.map((c) => `${c.label} (${targetText(c.target)})`),
  ];
  const rows = Object.keys(summary.medians).map((name) => [
    name === subject ? `**${name}**` : name,
    ...summary.metrics.map((m) => fixed(summary.medians[name][m.key], m.decimals)),
    ...summary.comparisons.map((c) => {
      if (name === baseline) return c.kind === 'delta' ? '0' : '1×';
      const text = formatComparison(c.kind, c.byRuntime[name].median);
      return name === subject ? `**${text}** ${c.pass ? '✔' : '✘'}` : text;
    }),
  ]);

  const spread = summary.comparisons.map((c) => {
    const [low, high] = c.byRuntime[subject].range;
    return [
      c.label,
      formatComparison(c.kind, c.value),
      `${formatComparison(c.kind, low)} … ${formatComparison(c.kind, high)}`,
      c.byRuntime[subject].perRound.length,
      targetText(c.target),
      c.pass ? '✔' : '✘',
    ];
  });

  return [
    `## ${summary.title}`,
    '',
    `Medians per runtime; ratio columns compare each runtime with ${baseline} in the same round ` +
      `(median of the per-round ratios), target in the header, verdict for ${subject}.`,
    '',
    table(head, rows),
    '',
    `${subject} vs ${baseline}, per round:`,
    '',
    table(['comparison', 'median', 'range over rounds', 'rounds', 'target', ''], spread),
    '',
    ...summary.notes.map((note) => `- ${note}`),
    '',
  ].join('\n');
}

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
