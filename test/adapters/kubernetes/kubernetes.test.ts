import { describe, expect, it } from 'vitest';
import models from '../../../adapters/kubernetes/models.cjs';
import { validateObjects } from '../../../adapters/kubernetes/validate-objects.js';
import { type Doc, find, generate, services } from './services.js';

const env = (container: Doc) =>
  Object.fromEntries(
    container.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [
      e.name,
      e.value ?? e.valueFrom,
    ]),
  );

describe('--target kubernetes', () => {
  const { docs } = generate(services.users, 'kubernetes');
  const deployment = find(docs, 'Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('writes Deployment, Service, HorizontalPodAutoscaler, Gateway and VirtualService, in that order', () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata.name}`)).toEqual([
      'apps/v1 Deployment users',
      'v1 Service users',
      'autoscaling/v2 HorizontalPodAutoscaler users',
      'networking.istio.io/v1beta1 Gateway users',
      'networking.istio.io/v1beta1 VirtualService users',
    ]);
  });

  it('Deployment: image, ports named by protocol, probes, memory, PORT', () => {
    expect(container.image).toBe('registry.example.com/users:1.4.2');
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 8080 },
      { name: 'http-metrics', containerPort: 9464 },
    ]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/_/health/live', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/_/health/ready', port: 'http' });
    // A slow module load gets two minutes before liveness may restart it.
    expect(container.startupProbe).toEqual({
      httpGet: { path: '/_/health/live', port: 'http' },
      periodSeconds: 2,
      failureThreshold: 60,
    });
    // A Service named justfn-metrics would otherwise set JUSTFN_METRICS_PORT=tcp://… in every pod.
    expect(pod.enableServiceLinks).toBe(false);
    expect(container.resources.limits).toEqual({ memory: '512Mi' });
    expect(container.resources.requests.memory).toBe('512Mi');
    expect(env(container).PORT).toBe('8080');
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'users' });
    expect(deployment.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('users');
  });

  it('Deployment: the grace period covers the pre-stop pause, the drain (the timeout) and a margin', () => {
    const drain = Number(env(container).JUSTFN_DRAIN_TIMEOUT);
    expect(drain).toBe(60);
    // Written out, not read from the generator's own constants: 5 s of pause, the drain, 5 s of margin.
    expect(container.lifecycle.preStop.exec.command).toEqual(['sleep', '5']);
    expect(pod.terminationGracePeriodSeconds).toBe(70);
  });

  it('Deployment: variables from the Secret, secret files mounted, a writable /tmp on a read-only root, non-root', () => {
    expect(env(container).DATABASE_PASSWORD).toEqual({
      secretKeyRef: { name: 'users-secrets', key: 'DATABASE_PASSWORD' },
    });
    expect(env(container).BILLING_ORIGIN).toEqual({
      secretKeyRef: { name: 'users-secrets', key: 'BILLING_ORIGIN', optional: true },
    });
    expect(container.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      {
        name: 'secret-files',
        mountPath: '/var/task/secrets/partner-token',
        subPath: 'partner-token',
        readOnly: true,
      },
    ]);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
  });

  it('leaves replicas to the autoscaler, which keeps at least deploy.kubernetes.replicas', () => {
    expect(deployment.spec).not.toHaveProperty('replicas');
    const hpa = find(docs, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'users' });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBe(10);
    expect(container.resources.requests.cpu).toBe('289m');
  });

  it('Service: port 80 to the named container port, and the metrics port', () => {
    expect(find(docs, 'Service').spec).toEqual({
      selector: { 'app.kubernetes.io/name': 'users' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'http-metrics', port: 9464, targetPort: 'http-metrics' },
      ],
    });
  });

  it('Istio: a Gateway for the host and a VirtualService routing it to the Service', () => {
    expect(find(docs, 'Gateway').spec).toEqual({
      selector: { istio: 'ingressgateway' },
      servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['users.example.com'] }],
    });
    expect(find(docs, 'VirtualService').spec).toEqual({
      hosts: ['users.example.com'],
      gateways: ['users'],
      http: [{ route: [{ destination: { host: 'users', port: { number: 80 } } }] }],
    });
  });

  it('gRPC: ports, Service and Istio named grpc, probed by gRPC health', () => {
    const greeter = generate(services.greeter, 'kubernetes').docs;
    const grpcContainer = find(greeter, 'Deployment').spec.template.spec.containers[0];
    expect(grpcContainer.ports[0]).toEqual({ name: 'grpc', containerPort: 8080 });
    expect(grpcContainer.readinessProbe.grpc).toEqual({ port: 8080 });
    // Liveness asks the name that stays SERVING while a resource is down: no restarts in an outage.
    expect(grpcContainer.livenessProbe.grpc).toEqual({ port: 8080, service: 'liveness' });
    expect(find(greeter, 'Service').spec.ports[0]).toEqual({ name: 'grpc', port: 50051, targetPort: 'grpc' });
    expect(find(greeter, 'Gateway').spec.servers[0].port).toEqual({
      number: 80,
      name: 'grpc',
      protocol: 'GRPC',
    });
    expect(find(greeter, 'VirtualService').spec.http[0].route[0].destination).toEqual({
      host: 'greeter',
      port: { number: 50051 },
    });
  });

  it('replicas: 0 keeps the Deployment at zero, with no autoscaler; no host, no Istio', () => {
    const legacy = generate(services.legacy, 'kubernetes', 'registry.example.com/legacy:7').docs;
    expect(legacy.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
    expect(find(legacy, 'Deployment').spec.replicas).toBe(0);
  });

  it('refuses a serving port that is also the metrics port', () => {
    expect(() =>
      generate('name: clash\nhttp: { port: 9464 }\ndeploy: { image: r/c:1 }\n', 'kubernetes'),
    ).toThrow('http.port: 9464 is the metrics port (JUSTFN_METRICS_PORT); pick another');
  });

  it('an object that breaks its schema is a problem, named by kind and object', () => {
    const broken = new models.Deployment({
      metadata: { name: 'x' },
      spec: {
        selector: {},
        template: {
          spec: {
            containers: [{ name: 'x', ports: [{ containerPort: 'eighty' as never, name: 'HTTP_PORT' }] }],
          },
        },
      },
    });
    expect(validateObjects([broken])).toEqual([
      'Deployment x: data/spec/template/spec/containers/0/ports/0/containerPort must be integer',
      'Deployment x: port name "HTTP_PORT" is not a valid port name',
    ]);
  });
});
