import { type Static, Type } from 'typebox';
import {
  closed,
  grpcResourceSchema,
  httpResourceSchema,
  postgresResourceSchema,
  resourceNamePattern,
} from './resource-schemas.js';

/**
 * A CloudEvents String attribute (spec §Type System), which every reply carrying it would otherwise fail
 * on: no control character, unpaired surrogate or noncharacter. Written for a pattern without flags, as
 * the loader reads it: code units, a surrogate pair as two.
 */
const cloudEventsString = {
  pattern:
    '^(?:(?![\\ud83f\\ud87f\\ud8bf\\ud8ff\\ud93f\\ud97f\\ud9bf\\ud9ff\\uda3f\\uda7f\\udabf\\udaff\\udb3f\\udb7f\\udbbf\\udbff][\\udffe\\udfff])[\\ud800-\\udbff][\\udc00-\\udfff]' +
    '|[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff\\ufdd0-\\ufdef\\ufffe\\uffff])*$',
  patternErrorMessage:
    'expected a CloudEvents String, without control characters, unpaired surrogates or noncharacters',
};

/**
 * The format of `justfn.yaml` (DESIGN §5) as one TypeBox schema, which is JSON Schema as it stands: the
 * loader validates against it, editors complete the file from `schema/justfn.schema.json`, and the
 * `default`s written here are the defaults the loader applies. `patternErrorMessage` is the key VS Code's
 * and yaml-language-server's JSON Schema support read for a failed `pattern`; the loader prints it too.
 */

const resources = Type.Record(
  Type.String({ pattern: resourceNamePattern }),
  Type.Union([postgresResourceSchema, grpcResourceSchema, httpResourceSchema]),
  {
    ...closed,
    propertyNames: {
      pattern: resourceNamePattern,
      patternErrorMessage:
        'a resource name is a JavaScript identifier (letters, digits, _ and $, not starting with a digit), other than then, constructor, toJSON and __proto__',
    },
    default: {},
    description: 'Connections opened and warmed before the first invocation, by name',
  },
);

const http = Type.Object(
  {
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, default: 8080, description: 'HTTP port; $PORT wins' }),
    ),
    event: Type.Optional(
      Type.Union([Type.Literal('apigw-v2'), Type.Literal('apigw-v1'), Type.Literal('alb')], {
        default: 'apigw-v2',
        description: 'The event plain HTTP requests become',
      }),
    ),
    replyType: Type.Optional(
      Type.String({
        minLength: 1,
        ...cloudEventsString,
        description: 'The type of the reply CloudEvents; default: the incoming type + ".response"',
      }),
    ),
    replySource: Type.Optional(
      Type.String({
        minLength: 1,
        ...cloudEventsString,
        description: 'The source of the reply CloudEvents; default: urn:justfn:<function name>',
      }),
    ),
  },
  { ...closed, description: 'Serve HTTP (the default)' },
);

const grpc = Type.Object(
  {
    proto: Type.String({ minLength: 1, description: 'The .proto file, relative to justfn.yaml' }),
    service: grpcResourceSchema.properties.service,
  },
  { ...closed, description: 'Serve this gRPC service on $PORT (h2c) instead of HTTP' },
);

// The reference grammar of distribution/reference (reference.go): [host[:port]/]path[:tag][@digest], the
// path lower-case. An image Kubernetes cannot parse is only found when a pod fails with InvalidImageName.
const hostPart = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const pathPart = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const imageReference =
  `^(?:(?:${hostPart}(?:\\.${hostPart})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?/)?${pathPart}(?:/${pathPart})*` +
  '(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$';

const deploy = Type.Object(
  {
    image: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        pattern: imageReference,
        patternErrorMessage:
          'expected an image reference, e.g. registry.example.com/users:1.4.2 (lower-case repository path, optional :tag and @sha256:digest)',
        description: 'Container image reference',
      }),
    ),
    knative: Type.Optional(
      Type.Object(
        {
          minScale: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
          maxScale: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: '0: no limit' })),
          target: Type.Optional(
            Type.Integer({ minimum: 1, description: 'Soft concurrency target; default: Knative' }),
          ),
        },
        closed,
      ),
    ),
    kubernetes: Type.Optional(
      Type.Object(
        {
          replicas: Type.Optional(Type.Integer({ minimum: 0, default: 1 })),
          host: Type.Optional(
            Type.String({
              pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
              patternErrorMessage: 'expected a host name, e.g. users.example.com',
              description: 'Public host: adds an Istio Gateway and VirtualService',
            }),
          ),
        },
        closed,
      ),
    ),
    lambda: Type.Optional(
      Type.Object(
        {
          architecture: Type.Optional(
            Type.Union([Type.Literal('x86_64'), Type.Literal('arm64')], { default: 'x86_64' }),
          ),
        },
        closed,
      ),
    ),
  },
  { ...closed, description: 'What `justfn manifests` generates' },
);

/**
 * The whole of `justfn.yaml`.
 *
 * @example
 * import { Compile } from 'typebox/compile';
 * Compile(serviceSchema).Check({ name: 'users' }); // true
 */
export const serviceSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$',
      maxLength: 63,
      patternErrorMessage: 'expected a DNS label: lowercase letters, digits and -, starting with a letter',
      description: 'Service name (a DNS label)',
    }),
    handler: Type.Optional(
      Type.String({
        pattern: '^[^\\s]+\\.[^.\\s]+$',
        patternErrorMessage: 'expected path/to/module.export, e.g. src/users.handler',
        default: 'index.handler',
        description: 'Handler, relative to the task root; _HANDLER and the command line win',
      }),
    ),
    timeout: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400, default: 300, description: 'Seconds per invocation' }),
    ),
    memory: Type.Optional(
      Type.Integer({
        minimum: 128,
        maximum: 10_240,
        description:
          "Memory in MB; unset: the container's memory limit, and the platform's default in manifests",
      }),
    ),
    concurrency: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        default: 64,
        description: 'In-flight invocations per instance (HTTP mode)',
      }),
    ),
    http: Type.Optional(http),
    grpc: Type.Optional(grpc),
    resources: Type.Optional(resources),
    deploy: Type.Optional(deploy),
  },
  {
    ...closed,
    // A function serves either HTTP or gRPC on $PORT.
    not: { required: ['http', 'grpc'], errorMessage: 'a function serves either HTTP or gRPC on $PORT' },
    title: 'justfn.yaml',
    description: 'A justfn service description (docs/resources.md)',
  },
);

/**
 * `justfn.yaml` as written, before defaults; the loaded form is `ServiceConfig`.
 *
 * @example
 * const file: ServiceFile = { name: 'users', resources: { db: { kind: 'postgres', url: 'postgres://db/users' } } };
 */
export type ServiceFile = Static<typeof serviceSchema>;
