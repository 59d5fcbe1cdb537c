/** What the sources report; cheap calls on the hot path. */
export interface MetricsRecorder {
  /** An invocation ended: `outcome` is `success`, `error` or `timeout`; `method` for gRPC calls. */
  invocation(event: string, outcome: string, seconds: number, method?: string): void;
  /** A request was refused before it became an invocation. */
  rejected(reason: string): void;
}

/**
 * A recorder that keeps what it is told until the real one is attached: the HTTP source starts serving
 * before prom-client is loaded (it is not needed for the first request), and no count is lost meanwhile.
 * `onFirstRecord` learns when the first count came, to load prom-client once that request was answered.
 *
 * @example
 * const deferred = createDeferredRecorder();
 * deferred.onFirstRecord(() => setImmediate(loadMetrics));
 * deferred.rejected('overloaded');
 * deferred.attach(createMetrics(gauges, init).recorder); // replays the rejection
 */
export function createDeferredRecorder(limit = 100_000): MetricsRecorder & {
  attach(target: MetricsRecorder): void;
  onFirstRecord(callback: () => void): void;
} {
  let target: MetricsRecorder | undefined;
  let first: (() => void) | undefined;
  const pending: ((recorder: MetricsRecorder) => void)[] = [];
  const later = (call: (recorder: MetricsRecorder) => void) => {
    if (target) {
      call(target);
      return;
    }
    if (pending.length < limit) pending.push(call);
    const callback = first;
    first = undefined;
    callback?.();
  };
  return {
    invocation: (event, outcome, seconds, method) =>
      later((r) => r.invocation(event, outcome, seconds, method)),
    rejected: (reason) => later((r) => r.rejected(reason)),
    attach(recorder) {
      target = recorder;
      first = undefined;
      for (const call of pending.splice(0)) call(recorder);
    },
    onFirstRecord(callback) {
      if (target) return;
      if (pending.length > 0) callback();
      else first = callback;
    },
  };
}
