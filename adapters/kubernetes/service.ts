import type { ServiceShape } from '../service-shape.js';
import models from './models.cjs';
import { labelsFor, type RuntimeDefaults, servingPort } from './pod.js';

const { Service } = models;

/**
 * The ports callers inside the cluster use: 80 for HTTP, gRPC's customary 50051.
 *
 * @example
 * SERVICE_PORTS.grpc; // 50051: greeter.default.svc.cluster.local:50051
 */
export const SERVICE_PORTS = { http: 80, grpc: 50051 } as const;

/**
 * The Service in front of the Deployment: the serving port by its name (`http` or `grpc`, the Istio
 * protocol prefix) and the metrics port (`http-metrics`) for a Prometheus ServiceMonitor.
 *
 * @example
 * toService(shape, { metricsPort: 9464, taskRoot: '/var/task' }).spec?.ports; // [{ name: 'http', port: 80, targetPort: 'http' }, ...]
 */
export function toService(shape: ServiceShape, runtime: RuntimeDefaults): InstanceType<typeof Service> {
  const { name } = shape.config;
  const { protocol } = servingPort(shape);
  const ports: { name: string; port: number; targetPort: string }[] = [
    { name: protocol, port: SERVICE_PORTS[protocol], targetPort: protocol },
  ];
  if (runtime.metricsPort !== 0) {
    ports.push({ name: 'http-metrics', port: runtime.metricsPort, targetPort: 'http-metrics' });
  }
  return new Service({
    metadata: { name, labels: labelsFor(name) },
    spec: { selector: { 'app.kubernetes.io/name': name }, ports },
  });
}
