import type { ServiceShape } from '../service-shape.js';
import models from './models.cjs';
import { labelsFor } from './pod.js';

const { HorizontalPodAutoscaler } = models;

/** The CPU utilisation the autoscaler aims at: Kubernetes' own default, written out. */
const CPU_TARGET_PERCENT = 80;

/**
 * The HorizontalPodAutoscaler (`autoscaling/v2`) for the Deployment: at least `deploy.kubernetes.replicas`
 * (default 1), at most twice that or 10, on CPU against the request `resourcesFor` sets. None when
 * `replicas` is 0: an autoscaler would scale the Deployment back up (and cannot go below 1).
 *
 * @example
 * toHorizontalPodAutoscaler(shape)?.spec?.maxReplicas; // 10
 */
export function toHorizontalPodAutoscaler(
  shape: ServiceShape,
): InstanceType<typeof HorizontalPodAutoscaler> | undefined {
  const { name } = shape.config;
  const replicas = shape.config.deploy?.kubernetes?.replicas ?? 1;
  if (replicas === 0) return undefined;
  return new HorizontalPodAutoscaler({
    metadata: { name, labels: labelsFor(name) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: replicas,
      maxReplicas: Math.max(10, 2 * replicas),
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: CPU_TARGET_PERCENT } },
        },
      ],
    },
  });
}
