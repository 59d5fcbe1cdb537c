import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { generateManifests, type ManifestTarget } from '../../../adapters/manifests.js';
import { readServiceShape } from '../../../adapters/service-shape.js';
import { tempDir } from '../../helpers/temp.js';

/** justfn.yaml files that exercise every part of the generators (the examples cover the plain case). */
export const services = {
  /** Resources that read variables (one with a default) and a secret file; a public host; Lambda on arm64. */
  users: `
name: users
handler: src/users.handler
timeout: 60
memory: 512
concurrency: 50
resources:
  db:
    kind: postgres
    url: postgres://app:\${DATABASE_PASSWORD}@db.default.svc.cluster.local:5432/users
  billing:
    kind: http
    origin: \${BILLING_ORIGIN:-http://billing.default.svc.cluster.local}
  auth:
    kind: grpc
    target: auth.default.svc.cluster.local:50051
    proto: protos/auth.proto
    service: auth.v1.Auth
    timeout: \${AUTH_TIMEOUT:-2}
  ca:
    kind: http
    origin: https://partner.example.com
    warm: /\${file:secrets/partner-token}
deploy:
  image: registry.example.com/users:1.4.2
  knative: { minScale: 1, maxScale: 20 }
  kubernetes: { replicas: 2, host: users.example.com }
  lambda: { architecture: arm64 }
`,
  /** A gRPC service (a \`grpc:\` block). */
  greeter: `
name: greeter
grpc: { proto: protos/greeter.proto, service: greeter.v1.Greeter }
deploy:
  image: registry.example.com/greeter:3
  kubernetes: { host: greeter.example.com }
`,
  /** No image: Lambda from the layer; REST API events; Kubernetes scaled to zero. */
  legacy: `
name: legacy-api
timeout: 20
http: { event: apigw-v1 }
resources:
  db: { kind: postgres, url: '\${DATABASE_URL}' }
deploy:
  kubernetes: { replicas: 0 }
`,
} as const;

/** Writes `text` as justfn.yaml in a fresh directory (with a secrets/ subdirectory) and returns its path. */
export function writeService(text: string): string {
  const dir = tempDir('manifests');
  mkdirSync(path.join(dir, 'secrets'));
  const file = path.join(dir, 'justfn.yaml');
  writeFileSync(file, text);
  return file;
}

/** A parsed manifest document: tests walk it freely and let the assertions say what is expected. */
// biome-ignore lint/suspicious/noExplicitAny: YAML read back, checked by the assertions themselves.
export type Doc = Record<string, any>;

export const runtime = { metricsPort: 9464, taskRoot: '/var/task' };

/** Generates `target` for `text` and reads the YAML back as objects. */
export function generate(text: string, target: ManifestTarget, image?: string) {
  const shape = readServiceShape(writeService(text), image === undefined ? {} : { image });
  const file = generateManifests(target, shape, { runtime, codeUri: '.' });
  const docs = parseAllDocuments(file.text).map((d) => d.toJS() as Doc);
  return { file, docs, shape };
}

/** The one object of `kind` among `docs`. */
export function find(docs: Doc[], kind: string): Doc {
  const found = docs.filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, got ${found.length}`);
  return found[0]!;
}
