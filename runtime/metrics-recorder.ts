/** What the sources report; cheap calls on the hot path. */
export interface MetricsRecorder {
  /** An invocation ended: `outcome` is `success`, `error` or `timeout`; `method` for gRPC calls. */
  invocation(event: string, outcome: string, seconds: number, method?: string): void;
  /** A request was refused before it became an invocation. */
  rejected(reason: string): void;
}

/** Upper bounds of `justfn_invocation_duration_seconds`' buckets, in seconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The invocations of one label set so far. */
export interface InvocationSeries {
  readonly labels: { event: string; outcome: string; method: string };
  count: number;
  /** Seconds, all durations added up. */
  sum: number;
  /** Invocations per bucket of {@link DURATION_BUCKETS} (not cumulative); the last one past every bound. */
  readonly buckets: number[];
}

/**
 * The counts behind justfn's invocation metrics, kept in plain objects: a request costs a map lookup,
 * two additions and a bucket search. prom-client's own labelled `inc` and `observe` check and hash their
 * labels on every call — 1.5 µs of a hello request, profiled — and prom-client is not even loaded for the
 * first requests (`runtime/metrics.ts` reads these counts at scrape time). The label sets are few and
 * fixed (event kinds, outcomes, the service's methods, refusal reasons), so the counts stay small.
 * `onFirstRecord` learns when the first count came, to load prom-client once that request was answered.
 *
 * @example
 * const recorder = createMetricsRecorder();
 * recorder.onFirstRecord(() => setImmediate(loadPromClient));
 * recorder.invocation('apigw-v2', 'success', 0.004);
 * for (const series of recorder.invocations()) console.log(series.labels, series.count);
 */
export function createMetricsRecorder() {
  const series = new Map<string, InvocationSeries>();
  // Under load nearly every invocation counts in the same series as the one before: no key to build.
  let last: InvocationSeries | undefined;
  const seriesOf = (event: string, outcome: string, method: string) => {
    const labels = last?.labels;
    if (labels?.event === event && labels.outcome === outcome && labels.method === method) return last!;
    const key = `${event} ${outcome} ${method}`;
    last = series.get(key);
    if (last === undefined) {
      const buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
      last = { labels: { event, outcome, method }, count: 0, sum: 0, buckets };
      series.set(key, last);
    }
    return last;
  };
  const rejections = new Map<string, number>();
  let first: (() => void) | undefined;
  let recorded = false;
  const counted = () => {
    recorded = true;
    const callback = first;
    first = undefined;
    callback?.();
  };
  return {
    invocation(event: string, outcome: string, seconds: number, method = '') {
      const one = seriesOf(event, outcome, method);
      one.count += 1;
      one.sum += seconds;
      let bucket = 0;
      while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket += 1;
      one.buckets[bucket]! += 1;
      if (!recorded) counted();
    },
    rejected(reason: string) {
      rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
      if (!recorded) counted();
    },
    /** Every label set seen so far. */
    invocations: (): Iterable<InvocationSeries> => series.values(),
    /** Refused requests by reason. */
    rejections: (): ReadonlyMap<string, number> => rejections,
    onFirstRecord(callback: () => void) {
      if (recorded) callback();
      else first = callback;
    },
  };
}

export type RecordedMetrics = ReturnType<typeof createMetricsRecorder>;
