// Turns a suite's raw samples into a summary (medians, per-round comparisons, verdicts) and a markdown table.
import { median, medianInterval, meets, paired, range } from './stats.mjs';

/**
 * @param suite the suite's description (name, title, subject, baseline, metrics, comparisons). A comparison
 *   is `{ metric, kind, label, target?, baseline? }`: kind 'ratio' (subject ÷ baseline per round), 'delta'
 *   (subject − baseline) or 'value' (the metric itself, already a per-round ratio the suite computed); its
 *   own `baseline` overrides the suite's; without a `target` it is shown for scale and carries no verdict.
 * @param result what its run() returned (runtimes, rounds, samples[runtime][metric][round], notes)
 */
export function summarise(suite, result) {
  const medians = {};
  for (const name of result.runtimes) {
    medians[name] = {};
    for (const metric of suite.metrics)
      medians[name][metric.key] = median(result.samples[name][metric.key] ?? []);
  }
  // Every runtime is compared with the baseline round by round; only the subject's figures carry a verdict.
  const comparisons = suite.comparisons.map((comparison) => {
    const baselineName = comparison.baseline ?? suite.baseline;
    const baseline = result.samples[baselineName]?.[comparison.metric] ?? [];
    const byRuntime = {};
    for (const name of result.runtimes) {
      const own = result.samples[name][comparison.metric] ?? [];
      const perRound = comparison.kind === 'value' ? own : paired(own, baseline, comparison.kind);
      byRuntime[name] = {
        median: median(perRound),
        range: range(perRound),
        interval: medianInterval(perRound),
        perRound,
        rounds: perRound.filter(Number.isFinite).length,
      };
    }
    const value = byRuntime[suite.subject].median;
    const pass = comparison.target === undefined || meets(value, comparison.target);
    // Whether the verdict would stand anywhere in the median's 95 % interval, or the rounds leave it open.
    const [low, high] = byRuntime[suite.subject].interval;
    const settled =
      comparison.target === undefined || !Number.isFinite(low)
        ? undefined
        : meets(low, comparison.target) === meets(high, comparison.target);
    return { ...comparison, baseline: baselineName, byRuntime, value, pass, settled };
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
const targetText = (target) =>
  target === undefined ? '—' : `${target.op === '<=' ? '≤' : '≥'} ${target.value}`;
const formatComparison = (kind, value) => {
  if (!Number.isFinite(value)) return '—';
  return kind === 'delta' ? `${value >= 0 ? '+' : ''}${fixed(value, 1)}` : `${fixed(value, 2)}×`;
};
const verdict = (c) => (c.target === undefined ? '' : c.pass ? '✔' : '✘');

/** The suite's section of the markdown report. */
export function toMarkdown(summary) {
  const { subject } = summary;
  const head = [
    'runtime',
    ...summary.metrics.map((m) => m.label),
    ...summary.comparisons.map((c) => (c.target ? `${c.label} (${targetText(c.target)})` : c.label)),
  ];
  const rows = Object.keys(summary.medians).map((name) => [
    name === subject ? `**${name}**` : name,
    ...summary.metrics.map((m) => fixed(summary.medians[name][m.key], m.decimals)),
    ...summary.comparisons.map((c) => {
      if (name === c.baseline && c.kind !== 'value') return c.kind === 'delta' ? '0' : '1×';
      const text = formatComparison(c.kind, c.byRuntime[name].median);
      return name === subject ? `**${text}** ${verdict(c)}`.trim() : text;
    }),
  ]);

  // A section kept from an earlier run may have no interval.
  const between = (kind, [low, high] = []) =>
    Number.isFinite(low) ? `${formatComparison(kind, low)} … ${formatComparison(kind, high)}` : '—';
  const spread = summary.comparisons.map((c) => [
    c.label,
    c.kind === 'value' ? '—' : c.baseline,
    formatComparison(c.kind, c.value),
    between(c.kind, c.byRuntime[subject].interval),
    between(c.kind, c.byRuntime[subject].range),
    c.byRuntime[subject].rounds,
    targetText(c.target),
    c.settled === undefined ? verdict(c) : `${verdict(c)} ${c.settled ? 'settled' : 'open'}`,
  ]);
  const baselines = [
    ...new Set(summary.comparisons.filter((c) => c.kind !== 'value').map((c) => c.baseline)),
  ];

  return [
    `## ${summary.title}`,
    '',
    baselines.length > 0
      ? `Medians per runtime; ratio columns compare each runtime with ${baselines.join(' or ')} (as the column ` +
        `says) in the same round (median of the per-round ratios), target in the header, verdict for ${subject}.`
      : `Medians per runtime; comparison columns are medians of per-round values, target in the header, verdict for ${subject}.`,
    '',
    table(head, rows),
    '',
    `${subject}, per round:`,
    '',
    table(
      [
        'comparison',
        'vs',
        'median',
        '95 % interval of the median',
        'range over rounds',
        'rounds',
        'target',
        '',
      ],
      spread,
    ),
    '',
    'The interval is distribution-free (order statistics of the rounds); a verdict is *settled* when the ' +
      'whole interval falls on its side of the target, *open* when the rounds cannot tell.',
    '',
    ...summary.notes.map((note) => `- ${note}`),
    '',
  ].join('\n');
}

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
