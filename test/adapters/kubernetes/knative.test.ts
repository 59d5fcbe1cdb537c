import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toKnativeService } from '../../../adapters/kubernetes/knative.js';
import { checkKnativeContract } from '../../../adapters/kubernetes/knative-contract.js';
import { generateManifests, ManifestError } from '../../../adapters/manifests.js';
import { readServiceShape } from '../../../adapters/service-shape.js';
import { repoRoot } from '../../helpers/process.js';
import { find, generate, runtime, services, writeService } from './services.js';

const hello = readServiceShape(path.join(repoRoot, 'examples/hello/justfn.yaml'));

describe('--target knative', () => {
  it('examples/hello: image, concurrency, timeout, scaling, port, probes, memory, metrics', () => {
    const { docs } = generate(
      readFileSync(path.join(repoRoot, 'examples/hello/justfn.yaml'), 'utf8'),
      'knative',
    );
    expect(docs).toHaveLength(1);
    const service = find(docs, 'Service');
    expect(service.apiVersion).toBe('serving.knative.dev/v1');
    expect(service.metadata.name).toBe('hello');
    const template = service.spec.template;
    expect(template.metadata.annotations).toEqual({
      'autoscaling.knative.dev/min-scale': '0',
      'autoscaling.knative.dev/max-scale': '10',
      'autoscaling.knative.dev/target': '50',
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9464',
      'prometheus.io/path': '/metrics',
    });
    expect(template.spec.containerConcurrency).toBe(hello.config.concurrency);
    expect(template.spec.timeoutSeconds).toBe(30);
    const [container, ...others] = template.spec.containers;
    expect(others).toEqual([]);
    expect(container.image).toBe('registry.example.com/hello:1');
    expect(container.ports).toEqual([{ name: 'http1', containerPort: 8080 }]);
    expect(container.readinessProbe).toEqual({ httpGet: { path: '/_/health/ready' } });
    expect(container.livenessProbe).toEqual({ httpGet: { path: '/_/health/live' } });
    // Non-root from the manifest too, not only from the image's USER: an image built another way is held.
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.resources.limits.memory).toBe('256Mi');
    expect(container.env).toBeUndefined();
  });

  it('takes every variable from the Secret, optional when it has a default, and mounts secret files read-only', () => {
    const { docs } = generate(services.users, 'knative');
    const spec = find(docs, 'Service').spec.template.spec;
    const container = spec.containers[0];
    expect(container.env).toEqual([
      {
        name: 'DATABASE_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'users-secrets', key: 'DATABASE_PASSWORD' } },
      },
      {
        name: 'BILLING_ORIGIN',
        valueFrom: { secretKeyRef: { name: 'users-secrets', key: 'BILLING_ORIGIN', optional: true } },
      },
      {
        name: 'AUTH_TIMEOUT',
        valueFrom: { secretKeyRef: { name: 'users-secrets', key: 'AUTH_TIMEOUT', optional: true } },
      },
    ]);
    expect(container.volumeMounts).toEqual([
      {
        name: 'secret-files',
        mountPath: '/var/task/secrets/partner-token',
        subPath: 'partner-token',
        readOnly: true,
      },
    ]);
    expect(spec.volumes).toEqual([
      {
        name: 'secret-files',
        secret: { secretName: 'users-secrets', items: [{ key: 'partner-token', path: 'partner-token' }] },
      },
    ]);
    expect(spec.containerConcurrency).toBe(50);
    expect(spec.timeoutSeconds).toBe(60);
    expect(container.resources).toEqual({
      requests: { cpu: '289m', memory: '512Mi' },
      limits: { memory: '512Mi' },
    });
    const annotations = find(docs, 'Service').spec.template.metadata.annotations;
    expect(annotations['autoscaling.knative.dev/min-scale']).toBe('1');
    expect(annotations['autoscaling.knative.dev/max-scale']).toBe('20');
    expect(annotations).not.toHaveProperty('autoscaling.knative.dev/target');
  });

  it('gRPC: one port named h2c, so the queue-proxy speaks HTTP/2, probed by gRPC health', () => {
    const container = find(generate(services.greeter, 'knative').docs, 'Service').spec.template.spec
      .containers[0];
    expect(container.ports).toEqual([{ name: 'h2c', containerPort: 8080 }]);
    expect(container.readinessProbe).toEqual({ grpc: { port: 8080 } });
    expect(container.livenessProbe).toEqual({ grpc: { port: 8080, service: 'liveness' } });
  });

  it('needs an image: deploy.image or --image', () => {
    expect(() => generate(services.legacy, 'knative')).toThrow(
      /deploy\.image: required for --target knative/,
    );
    const { docs } = generate(services.legacy, 'knative', 'registry.example.com/legacy:7');
    expect(find(docs, 'Service').spec.template.spec.containers[0].image).toBe(
      'registry.example.com/legacy:7',
    );
  });

  it("refuses what Knative's webhook would: a queue-proxy port, a reserved variable", () => {
    const yaml = `name: clash\nhttp: { port: 8012 }\nresources:\n  a: { kind: http, origin: "\${K_SERVICE}" }\n`;
    const shape = readServiceShape(writeService(yaml), { image: 'registry.example.com/clash:1' });
    expect(() => generateManifests('knative', shape, { runtime, codeUri: '.' })).toThrow(ManifestError);
    try {
      generateManifests('knative', shape, { runtime, codeUri: '.' });
    } catch (error) {
      expect((error as ManifestError).problems).toEqual([
        "Service clash: containers[0].ports: 8012 is reserved by Knative's queue-proxy",
      ]);
    }
    // K_SERVICE is Knative's to set: the Service does not take it from the Secret.
    const { model } = toKnativeService(shape, 'img', runtime);
    expect(model.spec?.template?.spec?.containers[0]?.env).toBeUndefined();
    model.spec!.template!.spec!.containers[0]!.env = [{ name: 'PORT', value: '1' }];
    model.spec!.template!.spec!.containers[0]!.ports!.push({ containerPort: 9000, name: 'metrics' });
    expect(checkKnativeContract(model)).toEqual([
      'Service clash: containers[0].ports: Knative allows a single port',
      "Service clash: containers[0].ports: 8012 is reserved by Knative's queue-proxy",
      'Service clash: containers[0].ports: name metrics is not http1 or h2c',
      'Service clash: containers[0].env: PORT is set by Knative',
    ]);
  });
});
