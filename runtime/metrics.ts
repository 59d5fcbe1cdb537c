import client from 'prom-client';
import { DURATION_BUCKETS, type InvocationSeries, type RecordedMetrics } from './metrics-recorder.js';

export interface MetricsGauges {
  inFlight(): number;
  queued(): number;
  /** 1 per resource that is up, 0 per resource that is not. */
  resources?(): Record<string, { kind: string; up: boolean }>;
}

/**
 * justfn's Prometheus metrics, in their own registry (never prom-client's global one, so a function's
 * own prom-client use cannot collide). Everything is read at scrape time: the gauges from the sources,
 * the invocation and refusal counts from the recorder the sources report to. Names and labels are
 * listed in docs/metrics.md.
 *
 * @example
 * const recorded = createMetricsRecorder();
 * const { registry } = createMetrics({ inFlight: source.running, queued: source.queued }, () => 0.08, recorded);
 * recorded.invocation('apigw-v2', 'success', 0.004);
 * response.end(await registry.metrics());
 */
export function createMetrics(
  gauges: MetricsGauges,
  initSeconds: () => number | undefined,
  recorded: RecordedMetrics,
) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  registry.registerMetric(
    recordedMetric(
      'justfn_invocations_total',
      'Invocations by event kind, outcome (success, error, timeout) and gRPC method.',
      'counter',
      () => Array.from(recorded.invocations(), ({ labels, count }) => ({ labels, value: count })),
    ),
  );
  registry.registerMetric(
    recordedMetric(
      'justfn_invocation_duration_seconds',
      'Invocation duration, from the request being accepted to its answer.',
      'histogram',
      (name) => Array.from(recorded.invocations(), (series) => histogramValues(name, series)).flat(),
    ),
  );
  registry.registerMetric(
    recordedMetric(
      'justfn_requests_rejected_total',
      'Requests refused before becoming an invocation, by reason.',
      'counter',
      () => Array.from(recorded.rejections(), ([reason, count]) => ({ labels: { reason }, value: count })),
    ),
  );
  new client.Gauge({
    name: 'justfn_invocations_in_flight',
    help: 'Invocations running now.',
    registers: [registry],
    collect() {
      this.set(gauges.inFlight());
    },
  });
  new client.Gauge({
    name: 'justfn_queue_depth',
    help: 'Requests waiting for a free invocation slot.',
    registers: [registry],
    collect() {
      this.set(gauges.queued());
    },
  });
  // Both stay 0 until the process is ready (handler loaded, listening, every resource open).
  new client.Gauge({
    name: 'justfn_init_duration_seconds',
    help: 'Time from process start to ready to serve (handler loaded, resources open); 0 until then.',
    registers: [registry],
    collect() {
      const seconds = initSeconds();
      if (seconds !== undefined) this.set(seconds);
    },
  });
  let coldStart = false;
  new client.Counter({
    name: 'justfn_cold_starts_total',
    help: 'Cold starts of this process (1 once it is ready).',
    registers: [registry],
    collect() {
      if (coldStart || initSeconds() === undefined) return;
      coldStart = true;
      this.inc();
    },
  });
  new client.Gauge({
    name: 'justfn_resource_up',
    help: 'Whether each resource declared in justfn.yaml is open and healthy (1) or not (0).',
    labelNames: ['resource', 'kind'] as const,
    registers: [registry],
    collect() {
      for (const [resource, { kind, up }] of Object.entries(gauges.resources?.() ?? {})) {
        this.set({ resource, kind }, up ? 1 : 0);
      }
    },
  });
  return { registry };
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A metric whose values are computed at scrape time, in the shape prom-client's registry reads from its
 * own counters and histograms (`get()`), so the exposition format stays prom-client's.
 */
function recordedMetric(
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  values: (name: string) => MetricValue[],
) {
  const metric = { name, help, type, aggregator: 'sum' as const };
  // The registry takes its own metric classes in its types; it reads only these fields and `get()`.
  return { ...metric, get: async () => ({ ...metric, values: values(name) }) } as unknown as client.Metric;
}

/** One series as the Prometheus histogram `name`'s lines: cumulative buckets, `+Inf`, sum and count. */
function histogramValues(name: string, { labels, count, sum, buckets }: InvocationSeries): MetricValue[] {
  let cumulative = 0;
  const lines: MetricValue[] = DURATION_BUCKETS.map((le, i) => {
    cumulative += buckets[i]!;
    return { metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative };
  });
  lines.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
  return [
    ...lines,
    { metricName: `${name}_sum`, labels, value: sum },
    { metricName: `${name}_count`, labels, value: count },
  ];
}
