// Medians and paired comparisons. The machine's speed drifts (up to 2× within minutes), so a figure is only
// compared with one taken in the same round, and a suite reports the median of those per-round comparisons.

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function range(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [Number.NaN, Number.NaN];
}

/** Per-round `subject / baseline` (kind 'ratio') or `subject - baseline` (kind 'delta'). */
export function paired(subject, baseline, kind) {
  return subject.map((value, round) =>
    kind === 'delta' ? value - baseline[round] : value / baseline[round],
  );
}

/** Does `value` meet `{ op, value }`? */
export function meets(value, target) {
  if (!Number.isFinite(value)) return false;
  return target.op === '<=' ? value <= target.value : value >= target.value;
}
