import type { ServiceShape } from '../service-shape.js';
import models from './models.cjs';
import {
  labelsFor,
  metricsAnnotations,
  probesFor,
  type RuntimeDefaults,
  resourcesFor,
  secretEnv,
  secretFiles,
  servingPort,
} from './pod.js';

const { KnativeService: Service } = models;

/**
 * Set by Knative itself; a Service that sets them is refused (knative/serving `k8s_validation.go`).
 *
 * @example
 * knativeReservedEnv.has('K_SERVICE'); // true
 */
export const knativeReservedEnv: ReadonlySet<string> = new Set([
  'PORT',
  'K_SERVICE',
  'K_CONFIGURATION',
  'K_REVISION',
]);

/**
 * The Knative Service (`serving.knative.dev/v1`) for `justfn.yaml`: the image; one port, `http1` (HTTP
 * mode serves HTTP/1.1) or `h2c` (gRPC mode); `containerConcurrency` from `concurrency:` and
 * `timeoutSeconds` from `timeout:`; `deploy.knative`'s min-scale, max-scale and target as the revision's
 * autoscaling annotations; readiness on `/_/health/ready` (run by the queue-proxy, aggressively while
 * `periodSeconds` is unset, which is what a cold start wants); memory; every `${VAR}` from the Secret.
 *
 * @example
 * const { model, problems } = toKnativeService(shape, image, { metricsPort: 9464, taskRoot: '/var/task' });
 */
export function toKnativeService(
  shape: ServiceShape,
  image: string,
  runtime: RuntimeDefaults,
): { model: InstanceType<typeof Service>; problems: string[] } {
  const { config } = shape;
  const port = servingPort(shape);
  const probes = probesFor(port.protocol, port.number);
  const files = secretFiles(shape, runtime.taskRoot);
  const env = secretEnv(shape, knativeReservedEnv);
  const model = new Service({
    metadata: { name: config.name, labels: labelsFor(config.name) },
    spec: {
      template: {
        metadata: {
          labels: { 'app.kubernetes.io/name': config.name },
          annotations: { ...scaleAnnotations(shape), ...metricsAnnotations(runtime.metricsPort) },
        },
        spec: {
          containerConcurrency: config.concurrency,
          timeoutSeconds: config.timeout,
          containers: [
            {
              image,
              ports: [{ name: port.protocol === 'grpc' ? 'h2c' : 'http1', containerPort: port.number }],
              ...(env.length > 0 ? { env } : {}),
              resources: resourcesFor(config.memory),
              readinessProbe: probes.readiness,
              livenessProbe: probes.liveness,
              // What Knative's secure-pod-defaults would set, and the Deployment target sets. Not a read-only
              // root: /tmp would then need an emptyDir, which Knative takes only with a feature flag on.
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              ...(files.mounts.length > 0 ? { volumeMounts: files.mounts } : {}),
            },
          ],
          ...(files.volumes.length > 0 ? { volumes: files.volumes } : {}),
        },
      },
    },
  });
  return { model, problems: files.problems };
}

/** knative/docs `serving/autoscaling/scale-bounds.md`, `concurrency.md`: annotation values are strings. */
function scaleAnnotations(shape: ServiceShape): Record<string, string> {
  const knative = shape.config.deploy?.knative;
  if (!knative) return {};
  return {
    'autoscaling.knative.dev/min-scale': String(knative.minScale),
    'autoscaling.knative.dev/max-scale': String(knative.maxScale),
    ...(knative.target === undefined ? {} : { 'autoscaling.knative.dev/target': String(knative.target) }),
  };
}
