import type { Service } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { knativeReservedEnv } from './knative.js';

// knative/serving pkg/apis/serving/k8s_validation.go: what its webhook refuses beyond the CRD schema.
const portNames = new Set(['', 'http1', 'h2c']);
// queue-proxy 8012/8013, its admin 8022, autoscaler and user metrics 9090/9091, profiling 8008.
const reservedPorts = new Set([8012, 8013, 8022, 9090, 9091, 8008]);
const reservedPaths = new Set(['/', '/dev', '/dev/log', '/tmp', '/var', '/var/log']);
const MAX_SERVICE_NAME = 63 - '-00001'.length;

/**
 * The rules Knative Serving's admission webhook adds to the Service's schema, checked offline: a name
 * that leaves room for its revisions' suffix; one container port, named `http1`, `h2c` or nothing, not one of the queue-proxy's; no reserved variable
 * (`PORT`, `K_SERVICE`, ...); secret mounts read-only, at absolute paths Knative leaves to the user.
 *
 * @example
 * checkKnativeContract(service); // [] when Knative would accept it
 */
export function checkKnativeContract(service: Service): string[] {
  const problems: string[] = [];
  const name = service.metadata?.name ?? '';
  const where = `Service ${name}`;
  // Its revisions are named `<name>-00001`, a DNS label too (knative/serving ValidateObjectMetadata on
  // the Revision, and the Kubernetes Services it makes for one): 63 characters at most.
  if (name.length > MAX_SERVICE_NAME) {
    problems.push(
      `${where}: the name has ${name.length} characters; Knative names its revisions ${name}-00001, which may have 63, so at most ${MAX_SERVICE_NAME}`,
    );
  }
  for (const [i, container] of (service.spec?.template?.spec?.containers ?? []).entries()) {
    const at = `${where}: containers[${i}]`;
    const ports = container.ports ?? [];
    if (ports.length > 1) problems.push(`${at}.ports: Knative allows a single port`);
    for (const port of ports) {
      if (!portNames.has(port.name ?? ''))
        problems.push(`${at}.ports: name ${port.name} is not http1 or h2c`);
      if (reservedPorts.has(port.containerPort)) {
        problems.push(`${at}.ports: ${port.containerPort} is reserved by Knative's queue-proxy`);
      }
    }
    for (const env of container.env ?? []) {
      if (knativeReservedEnv.has(env.name)) problems.push(`${at}.env: ${env.name} is set by Knative`);
    }
    for (const mount of container.volumeMounts ?? []) {
      const path = mount.mountPath;
      if (!path.startsWith('/') || reservedPaths.has(path.replace(/\/+$/, '') || '/')) {
        problems.push(`${at}.volumeMounts: ${path} is not a path Knative allows`);
      }
      if (mount.readOnly !== true) problems.push(`${at}.volumeMounts: ${path} must be read-only`);
    }
  }
  return problems;
}

// knative/serving config/core/configmaps/defaults.yaml: the defaults of the limits a cluster may raise.
const MAX_REVISION_TIMEOUT_SECONDS = 600;
const CONTAINER_CONCURRENCY_MAX_LIMIT = 1000;

/**
 * What Knative refuses with its default settings but a cluster may allow (`config-defaults`): a timeout
 * over `max-revision-timeout-seconds` (600) or a `containerConcurrency` over
 * `container-concurrency-max-limit` (1000). Warnings, not problems: the cluster's own settings decide.
 *
 * @example
 * knativeDefaultLimits(service); // ['timeout: 3600 s is over Knative's default max-revision-timeout-seconds (600) ...']
 */
export function knativeDefaultLimits(service: Service): string[] {
  const warnings: string[] = [];
  const spec = service.spec?.template?.spec;
  const timeout = spec?.timeoutSeconds;
  if (timeout !== undefined && timeout > MAX_REVISION_TIMEOUT_SECONDS) {
    warnings.push(
      `timeout: ${timeout} s is over Knative's default max-revision-timeout-seconds (${MAX_REVISION_TIMEOUT_SECONDS}); ` +
        'the cluster refuses the Service unless its config-defaults ConfigMap raises it',
    );
  }
  const concurrency = spec?.containerConcurrency;
  if (concurrency !== undefined && concurrency > CONTAINER_CONCURRENCY_MAX_LIMIT) {
    warnings.push(
      `concurrency: ${concurrency} is over Knative's default container-concurrency-max-limit (${CONTAINER_CONCURRENCY_MAX_LIMIT}); ` +
        'the cluster refuses the Service unless its config-defaults ConfigMap raises it',
    );
  }
  return warnings;
}
