import client from 'prom-client';

import type { MetricsRecorder } from './metrics-recorder.js';

export type { MetricsRecorder } from './metrics-recorder.js';

export interface MetricsGauges {
  inFlight(): number;
  queued(): number;
  /** 1 per resource that is up, 0 per resource that is not. */
  resources?(): Record<string, { kind: string; up: boolean }>;
}

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * justfn's Prometheus metrics, in their own registry (never prom-client's global one, so a function's
 * own prom-client use cannot collide). Gauges are read at scrape time from the sources: nothing to
 * update per request. Names and labels are listed in docs/metrics.md.
 *
 * @example
 * const metrics = createMetrics({ inFlight: () => source.running(), queued: () => source.queued() });
 * metrics.recorder.invocation('apigw-v2', 'success', 0.004);
 * response.end(await metrics.registry.metrics());
 */
export function createMetrics(gauges: MetricsGauges, initSeconds: number) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const invocations = new client.Counter({
    name: 'justfn_invocations_total',
    help: 'Invocations by event kind, outcome (success, error, timeout) and gRPC method.',
    labelNames: ['event', 'outcome', 'method'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'justfn_invocation_duration_seconds',
    help: 'Invocation duration, from the request being accepted to its answer.',
    labelNames: ['event', 'outcome', 'method'] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  const rejected = new client.Counter({
    name: 'justfn_requests_rejected_total',
    help: 'Requests refused before becoming an invocation, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
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
  new client.Gauge({
    name: 'justfn_init_duration_seconds',
    help: 'Time from process start to ready to serve (handler loaded, resources open).',
    registers: [registry],
  }).set(initSeconds);
  new client.Counter({
    name: 'justfn_cold_starts_total',
    help: 'Cold starts of this process (1 once it is ready).',
    registers: [registry],
  }).inc();
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
  const recorder: MetricsRecorder = {
    invocation(event, outcome, seconds, method = '') {
      invocations.inc({ event, outcome, method });
      duration.observe({ event, outcome, method }, seconds);
    },
    rejected(reason) {
      rejected.inc({ reason });
    },
  };
  return { registry, recorder };
}
