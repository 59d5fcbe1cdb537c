import type { Gateway as GatewayModel } from '@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway';
import type { VirtualService as VirtualServiceModel } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import type { ServiceShape } from '../service-shape.js';
import models from './models.cjs';
import { labelsFor, servingPort } from './pod.js';
import { SERVICE_PORTS } from './service.js';

const { Gateway, VirtualService } = models;

/**
 * The Istio Gateway and VirtualService (`networking.istio.io/v1beta1`, served by every Istio since 1.9
 * and still by those with `v1`) that publish the Service on `deploy.kubernetes.host` through the default
 * ingress gateway (`istio: ingressgateway`), plain HTTP on port 80 (or gRPC); TLS is the gateway's
 * business (docs/deploy.md). None without a host.
 *
 * @example
 * toIstioObjects(shape); // [Gateway, VirtualService] when deploy.kubernetes.host is set, else []
 */
export function toIstioObjects(shape: ServiceShape): (GatewayModel | VirtualServiceModel)[] {
  const host = shape.config.deploy?.kubernetes?.host;
  if (host === undefined) return [];
  const { name } = shape.config;
  const { protocol } = servingPort(shape);
  const metadata = { name, labels: labelsFor(name) };
  const gateway = new Gateway({
    metadata,
    spec: {
      selector: { istio: 'ingressgateway' },
      servers: [{ port: { number: 80, name: protocol, protocol: protocol.toUpperCase() }, hosts: [host] }],
    },
  });
  const virtualService = new VirtualService({
    metadata,
    spec: {
      hosts: [host],
      gateways: [name],
      http: [{ route: [{ destination: { host: name, port: { number: SERVICE_PORTS[protocol] } } }] }],
    },
  });
  return [gateway, virtualService];
}
