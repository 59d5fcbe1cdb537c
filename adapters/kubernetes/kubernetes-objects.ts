import type { ServiceShape } from '../service-shape.js';
import { toDeployment } from './deployment.js';
import { toHorizontalPodAutoscaler } from './hpa.js';
import { toIstioObjects } from './istio.js';
import type { RuntimeDefaults } from './pod.js';
import { toService } from './service.js';
import type { ManifestObject } from './validate-objects.js';

/**
 * Everything `--target kubernetes` writes, in apply order: Deployment, Service, HorizontalPodAutoscaler
 * (unless `replicas: 0`), and an Istio Gateway and VirtualService when `deploy.kubernetes.host` is set.
 * `problems` also holds any disagreement between them (a selector that misses the pods, a route to a port
 * the Service lacks): the schemas cannot see those.
 *
 * @example
 * const { objects, problems } = toKubernetesObjects(shape, image, { metricsPort: 9464, taskRoot: '/var/task' });
 */
export function toKubernetesObjects(shape: ServiceShape, image: string, runtime: RuntimeDefaults) {
  const deployment = toDeployment(shape, image, runtime);
  const service = toService(shape, runtime);
  const hpa = toHorizontalPodAutoscaler(shape);
  const istio = toIstioObjects(shape);
  const objects: ManifestObject[] = [deployment.model, service, ...(hpa ? [hpa] : []), ...istio];
  const problems = [...deployment.problems];

  const podLabels = deployment.model.spec?.template.metadata?.labels ?? {};
  const selects = (selector: Record<string, string> | undefined) =>
    Object.entries(selector ?? {}).every(([key, value]) => podLabels[key] === value);
  if (!selects(deployment.model.spec?.selector.matchLabels)) {
    problems.push('Deployment: spec.selector does not match the pod labels');
  }
  if (!selects(service.spec?.selector)) problems.push('Service: spec.selector does not match the pod labels');
  const numbers =
    deployment.model.spec?.template.spec?.containers
      .flatMap((c) => c.ports ?? [])
      .map((p) => p.containerPort) ?? [];
  for (const number of new Set(numbers)) {
    if (numbers.filter((n) => n === number).length > 1)
      problems.push(`Deployment: two container ports are ${number}`);
  }
  const containerPorts = new Set(
    deployment.model.spec?.template.spec?.containers.flatMap((c) => c.ports ?? []).map((p) => p.name),
  );
  for (const port of service.spec?.ports ?? []) {
    if (!containerPorts.has(String(port.targetPort)))
      problems.push(`Service: targetPort ${port.targetPort} is no container port`);
  }
  if (hpa && hpa.spec?.scaleTargetRef.name !== deployment.model.metadata?.name) {
    problems.push('HorizontalPodAutoscaler: scaleTargetRef is not the Deployment');
  }
  const servicePorts = new Set((service.spec?.ports ?? []).map((p) => p.port));
  for (const object of istio) {
    if (object.kind !== 'VirtualService') continue;
    for (const route of object.spec?.http?.flatMap((h) => h.route ?? []) ?? []) {
      const { host, port } = route.destination ?? {};
      if (host !== service.metadata?.name || !servicePorts.has(port?.number ?? -1)) {
        problems.push(`VirtualService: route to ${host}:${port?.number} is not the Service`);
      }
    }
  }
  return { objects, problems };
}
