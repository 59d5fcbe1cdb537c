import path from 'node:path';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { LIVENESS_SERVICE } from '../grpc/liveness.js';
import type { ServiceShape } from '../service-shape.js';

/**
 * What the manifests must agree on with the runtime inside the image; `bootstrap/` passes justfn's own
 * defaults (`JUSTFN_METRICS_PORT`, the image's `LAMBDA_TASK_ROOT`).
 *
 * @example
 * const runtime: RuntimeDefaults = { metricsPort: 9464, taskRoot: '/var/task' };
 */
export interface RuntimeDefaults {
  metricsPort: number;
  /** Where `justfn.yaml` sits in the image: relative `${file:...}` paths are relative to it. */
  taskRoot: string;
}

/**
 * The labels every object carries; the selector uses `app.kubernetes.io/name` alone (selectors cannot change).
 *
 * @example
 * labelsFor('users'); // { 'app.kubernetes.io/name': 'users', 'app.kubernetes.io/managed-by': 'justfn' }
 */
export function labelsFor(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'justfn' };
}

/**
 * The port the function serves on: `http.port` (default 8080), or 8080 for gRPC (`$PORT`'s default).
 *
 * @example
 * servingPort(shape); // { number: 8080, protocol: 'http' }
 */
export function servingPort(shape: ServiceShape): { number: number; protocol: 'http' | 'grpc' } {
  if (shape.config.grpc) return { number: 8080, protocol: 'grpc' };
  return { number: shape.config.http?.port ?? 8080, protocol: 'http' };
}

/**
 * The Secret holding the values of every `${VAR}` (key: the variable's name) and `${file:...}` (key: the
 * file's base name) that `justfn.yaml` reads. The manifests only refer to it; its values never pass here.
 *
 * @example
 * secretNameFor('users'); // 'users-secrets'
 */
export const secretNameFor = (name: string): string => `${name}-secrets`;

/**
 * One environment variable per `${VAR}`, each from the Secret; `optional` when every use has a default,
 * so a missing key leaves the default in force instead of stopping the pod. `reserved` names are the
 * platform's own (Knative's `PORT`, `K_SERVICE`, ...) and are left to it.
 *
 * @example
 * secretEnv(shape, new Set(['PORT'])); // [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: {...} } }]
 */
export function secretEnv(shape: ServiceShape, reserved: ReadonlySet<string>): IEnvVar[] {
  const name = secretNameFor(shape.config.name);
  return shape.variables
    .filter((v) => !reserved.has(v.name))
    .map((v) => ({
      name: v.name,
      valueFrom: { secretKeyRef: { name, key: v.name, ...(v.optional ? { optional: true } : {}) } },
    }));
}

const secretKey = /^[-._a-zA-Z0-9]+$/;

/** Where no Secret file may go: what the kernel or the runtime serves there, which a mount would hide. */
const KERNEL_TREES = ['/proc', '/sys', '/dev'];

/**
 * Each `${file:PATH}` becomes that one key of the Secret, mounted read-only at the path (relative paths
 * under the task root, where `justfn.yaml` is in the image; two spellings of one path are one file).
 * Problems: a base name that cannot be a Secret key; two files, or a file and a `${VAR}`, with the same
 * key (they would read one value); a path that names a directory, or one whose mount would hide the
 * function's own directory or a kernel tree (`/proc`, `/sys`, `/dev`), where the pod could not start.
 *
 * @example
 * secretFiles(shape, '/var/task'); // { volumes: [...], mounts: [{ mountPath: '/var/task/db-password', subPath: 'db-password', ... }], problems: [] }
 */
export function secretFiles(shape: ServiceShape, taskRoot: string) {
  const volumes: IVolume[] = [];
  const mounts: IVolumeMount[] = [];
  const problems: string[] = [];
  if (shape.files.length === 0) return { volumes, mounts, problems };
  const variables = new Set(shape.variables.map((v) => v.name));
  const keys = new Map<string, { file: string; mountPath: string }>();
  for (const file of shape.files) {
    const mountPath = path.posix.resolve(taskRoot, file);
    const key = path.posix.basename(mountPath);
    const under = (tree: string) => mountPath === tree || mountPath.startsWith(`${tree}/`);
    const hides = (dir: string) =>
      dir === mountPath || dir.startsWith(`${mountPath === '/' ? '' : mountPath}/`);
    if (file.endsWith('/')) {
      problems.push(`\${file:${file}}: names a directory; a Secret file is a file`);
      continue;
    }
    if (hides(taskRoot) || KERNEL_TREES.some(under)) {
      problems.push(
        `\${file:${file}}: mounted at ${mountPath}, it would hide ${hides(taskRoot) ? `the function's directory (${taskRoot})` : 'what the kernel serves there'}; name a file beside justfn.yaml or elsewhere`,
      );
      continue;
    }
    if (!secretKey.test(key))
      problems.push(`\${file:${file}}: ${key} cannot be a Secret key ([-._a-zA-Z0-9])`);
    if (variables.has(key)) problems.push(`\${file:${file}} and \${${key}} share the Secret key ${key}`);
    const other = keys.get(key);
    if (other?.mountPath === mountPath) continue;
    if (other !== undefined)
      problems.push(`\${file:${file}} and \${file:${other.file}} share the Secret key ${key}`);
    keys.set(key, { file, mountPath });
    mounts.push({ name: 'secret-files', mountPath, subPath: key, readOnly: true });
  }
  if (mounts.length > 0) {
    volumes.push({
      name: 'secret-files',
      secret: {
        secretName: secretNameFor(shape.config.name),
        items: [...keys.keys()].map((key) => ({ key, path: key })),
      },
    });
  }
  return { volumes, mounts, problems };
}

/** Lambda's ratio: a function gets one vCPU per 1,769 MB (AWS Lambda docs, "Configuring memory"). */
const MB_PER_VCPU = 1769;

/**
 * Memory as the request and the limit (as on Lambda, the function gets what it asked for, no more), and a
 * CPU request in Lambda's proportion to it — the HorizontalPodAutoscaler measures against that request.
 * Without `memory:`, only a small CPU request.
 *
 * @example
 * resourcesFor(512); // { requests: { cpu: '289m', memory: '512Mi' }, limits: { memory: '512Mi' } }
 */
export function resourcesFor(memory: number | undefined): IResourceRequirements {
  if (memory === undefined) return { requests: { cpu: '100m' } };
  const cpu = `${Math.max(1, Math.round((memory * 1000) / MB_PER_VCPU))}m`;
  return { requests: { cpu, memory: `${memory}Mi` }, limits: { memory: `${memory}Mi` } };
}

/**
 * A probe as both Kubernetes (which needs `httpGet.port`) and Knative (which probes its one serving port
 * when `port` is left out) read it.
 *
 * @example
 * const ready: Probe = { httpGet: { path: '/_/health/ready' } };
 */
export interface Probe {
  httpGet?: { path: string; port?: string };
  grpc?: { port: number; service?: string };
  periodSeconds?: number;
  failureThreshold?: number;
}

/**
 * Liveness and readiness: HTTP mode's `/_/health/live` and `/_/health/ready`, or gRPC health
 * (`grpc.health.v1`) in gRPC mode, liveness under {@link LIVENESS_SERVICE}. `portName` names the HTTP port to probe; Knative takes none.
 *
 * @example
 * probesFor('http', 8080, 'http'); // { liveness: { httpGet: { path: '/_/health/live', port: 'http' } }, readiness: {...} }
 */
export function probesFor(
  protocol: 'http' | 'grpc',
  port: number,
  portName?: string,
): { liveness: Probe; readiness: Probe } {
  if (protocol === 'grpc') {
    return { liveness: { grpc: { port, service: LIVENESS_SERVICE } }, readiness: { grpc: { port } } };
  }
  const at = portName === undefined ? {} : { port: portName };
  return {
    liveness: { httpGet: { path: '/_/health/live', ...at } },
    readiness: { httpGet: { path: '/_/health/ready', ...at } },
  };
}

/**
 * The scrape annotations most Prometheus set-ups read (Knative allows one container port, so the metrics
 * port cannot be declared there).
 *
 * @example
 * metricsAnnotations(9464); // { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' }
 */
export function metricsAnnotations(port: number): Record<string, string> {
  if (port === 0) return {};
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(port),
    'prometheus.io/path': '/metrics',
  };
}
