import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../runtime/metrics.js';
import { createMetricsRecorder } from '../../runtime/metrics-recorder.js';

/** The `le` bound and cumulative count of each bucket line of the duration histogram, as scraped. */
async function buckets(recorder: ReturnType<typeof createMetricsRecorder>) {
  const { registry } = createMetrics({ inFlight: () => 0, queued: () => 0 }, () => 0, recorder);
  const text = await registry.metrics();
  return Object.fromEntries(
    Array.from(
      text.matchAll(/^justfn_invocation_duration_seconds_bucket\{.*le="([^"]+)".*\} (\d+)$/gm),
      ([, le, count]) => [le, Number(count)],
    ),
  );
}

describe('the invocation duration histogram', () => {
  it("a duration on a bucket's bound counts in that bucket (le is less than or equal)", async () => {
    const recorder = createMetricsRecorder();
    recorder.invocation('http', 'success', 0.001);
    recorder.invocation('http', 'success', 0.005);
    recorder.invocation('http', 'success', 0.0051);
    expect(await buckets(recorder)).toMatchObject({ '0.001': 1, '0.005': 2, '0.01': 3, '+Inf': 3 });
  });
});
