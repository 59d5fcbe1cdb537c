import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
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

const { Deployment } = models;

/**
 * Seconds the pod keeps serving after it is marked for deletion, while endpoints drop it everywhere.
 *
 * @example
 * lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } }
 */
const PRE_STOP_SECONDS = 5;
/**
 * Seconds past the drain before the kubelet's SIGKILL: closing resources and flushing logs.
 *
 * @example
 * PRE_STOP_SECONDS + drainSecondsFor(timeout) + GRACE_MARGIN_SECONDS; // terminationGracePeriodSeconds
 */
const GRACE_MARGIN_SECONDS = 5;
/** `JUSTFN_DRAIN_TIMEOUT`'s ceiling (bootstrap/options.ts). */
const MAX_DRAIN_SECONDS = 3600;

/**
 * The drain the manifests give the runtime: long enough for any accepted invocation to finish within its
 * own `timeout:`. An idle pod still exits at once, so a long drain costs nothing unless work is running.
 *
 * @example
 * drainSecondsFor(30); // 30
 */
export const drainSecondsFor = (timeout: number): number => Math.min(timeout, MAX_DRAIN_SECONDS);

/**
 * The Deployment: one container with the serving port (`http`, or `grpc`) and the metrics port
 * (`http-metrics`), both named by protocol as Istio reads them; `PORT` set to the serving port (the image
 * says 8080, and the environment wins over `justfn.yaml`); probes; memory; the Secret's variables and
 * files; a `preStop` pause so no request meets a closed port, then SIGTERM and the runtime's drain, inside
 * `terminationGracePeriodSeconds`; the restricted Pod Security profile with a writable `/tmp`, as on
 * Lambda. `spec.replicas` is left to the HorizontalPodAutoscaler when there is one (kubernetes.io, "Horizontal
 * Pod Autoscaling": remove `spec.replicas` from manifests an HPA scales).
 *
 * @example
 * const { model } = toDeployment(shape, 'registry.example.com/users:1', { metricsPort: 9464, taskRoot: '/var/task' });
 */
export function toDeployment(shape: ServiceShape, image: string, runtime: RuntimeDefaults) {
  const { name, timeout } = shape.config;
  const files = secretFiles(shape, runtime.taskRoot);
  const drain = drainSecondsFor(timeout);
  const replicas = shape.config.deploy?.kubernetes?.replicas ?? 1;
  const model = new Deployment({
    metadata: { name, labels: labelsFor(name) },
    spec: {
      ...(replicas === 0 ? { replicas: 0 } : {}),
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels: labelsFor(name), annotations: metricsAnnotations(runtime.metricsPort) },
        spec: {
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + drain + GRACE_MARGIN_SECONDS,
          // No `<SERVICE>_PORT=tcp://…` variables for the namespace's Services: a Service named
          // `justfn-metrics` would set JUSTFN_METRICS_PORT to a URL and stop every pod from starting. The
          // function reads no such variable (Knative's default is the same).
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              ...toContainer(shape, image, runtime, drain),
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...files.mounts],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }, ...files.volumes],
        },
      },
    },
  });
  return { model, problems: files.problems };
}

function toContainer(
  shape: ServiceShape,
  image: string,
  runtime: RuntimeDefaults,
  drain: number,
): IContainer {
  const port = servingPort(shape);
  const probes = probesFor(port.protocol, port.number, port.protocol);
  const ports: { name: string; containerPort: number }[] = [
    { name: port.protocol, containerPort: port.number },
  ];
  if (runtime.metricsPort !== 0) ports.push({ name: 'http-metrics', containerPort: runtime.metricsPort });
  const own = [
    { name: 'PORT', value: String(port.number) },
    { name: 'JUSTFN_DRAIN_TIMEOUT', value: String(drain) },
  ];
  return {
    name: shape.config.name,
    image,
    ports,
    env: [...own, ...secretEnv(shape, new Set(own.map((e) => e.name)))],
    resources: resourcesFor(shape.config.memory),
    readinessProbe: { ...probes.readiness, periodSeconds: 5, failureThreshold: 2 } as IProbe,
    livenessProbe: { ...probes.liveness, periodSeconds: 10, failureThreshold: 3 } as IProbe,
    // The port opens once the handler's module has loaded: a slow load (a large bundle, a top-level
    // await) gets up to 120 s before liveness may restart it (kubernetes.io, "Configure Liveness,
    // Readiness and Startup Probes": protect slow starting containers with startup probes).
    startupProbe: { ...probes.liveness, periodSeconds: 2, failureThreshold: 60 } as IProbe,
    lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}
