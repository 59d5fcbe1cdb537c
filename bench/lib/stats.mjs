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

/**
 * A distribution-free interval for the median (order statistics, binomial tails): the k-th smallest and
 * k-th largest value, with k the largest rank whose two tails together hold at most 1 − `confidence`.
 * It assumes nothing of the rounds' distribution, only that they are independent. Fewer than 6 values give
 * none at 95 % (even min … max is not that sure).
 */
export function medianInterval(values, confidence = 0.95) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  let k = 0;
  let tail = 0; // P(X < rank), X ~ Binomial(n, 1/2)
  for (let rank = 1; rank <= n >> 1; rank++) {
    tail += binomial(n, rank - 1) / 2 ** n;
    if (2 * tail > 1 - confidence) break;
    k = rank;
  }
  return k === 0 ? [Number.NaN, Number.NaN] : [sorted[k - 1], sorted[n - k]];
}

function binomial(n, k) {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
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
