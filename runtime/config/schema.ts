import { type Static, Type } from 'typebox';

/**
 * The format of `justfn.yaml` (DESIGN §5) as one TypeBox schema, which is JSON Schema as it stands: the
 * loader validates against it, editors complete the file from `schema/justfn.schema.json`, and the
 * `default`s written here are the defaults the loader applies. `patternErrorMessage` is the key VS Code's
 * and yaml-language-server's JSON Schema support read for a failed `pattern`; the loader prints it too.
 */

const closed = { additionalProperties: false } as const;

/** Resource timeouts are seconds, like the function's `timeout`. */
const resourceTimeout = Type.Number({
  exclusiveMinimum: 0,
  maximum: 300,
  description:
    'Seconds to connect and warm up, and for each health check; default: the runtime open timeout (5 s)',
});

/**
 * @example
 * resources:
 *   db: { kind: postgres, url: '${DATABASE_URL}', pool: { min: 1, max: 10 } }
 */
export const postgresResourceSchema = Type.Object(
  {
    kind: Type.Literal('postgres'),
    url: Type.String({
      pattern: '^postgres(ql)?://',
      patternErrorMessage: 'expected a PostgreSQL URL, postgres://user:password@host:5432/database',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: justfn.yaml's own ${...} syntax, not JS.
      description: 'Connection URL (libpq style); put the password in ${VAR} or ${file:PATH}',
    }),
    pool: Type.Optional(
      Type.Object(
        {
          min: Type.Optional(
            Type.Integer({ minimum: 0, maximum: 1000, default: 1, description: 'Connections kept open' }),
          ),
          max: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Connections at most' }),
          ),
        },
        { ...closed, default: {} },
      ),
    ),
    timeout: Type.Optional(resourceTimeout),
  },
  { ...closed, description: 'A PostgreSQL pool: context.resources.<name> is a pg.Pool' },
);

/**
 * @example
 * resources:
 *   auth: { kind: grpc, target: 'auth:50051', proto: protos/auth.proto, service: auth.v1.Auth }
 */
export const grpcResourceSchema = Type.Object(
  {
    kind: Type.Literal('grpc'),
    target: Type.String({ minLength: 1, description: 'host:port or a gRPC name (dns:///host:port)' }),
    proto: Type.String({ minLength: 1, description: 'The .proto file, relative to justfn.yaml' }),
    service: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$',
      patternErrorMessage: 'expected a fully-qualified service name, e.g. auth.v1.Auth',
      description: 'The fully-qualified service name in the .proto',
    }),
    timeout: Type.Optional(resourceTimeout),
  },
  { ...closed, description: 'A gRPC client for one service: context.resources.<name> is a grpc-js Client' },
);

/**
 * @example
 * resources:
 *   billing: { kind: http, origin: 'http://billing.default.svc.cluster.local', warm: /healthz }
 */
export const httpResourceSchema = Type.Object(
  {
    kind: Type.Literal('http'),
    origin: Type.String({
      pattern: '^https?://[^/?#@\\s]+/?$',
      patternErrorMessage: 'expected an origin, scheme://host[:port] without a path',
      description: 'scheme://host[:port]',
    }),
    timeout: Type.Optional(resourceTimeout),
    warm: Type.Optional(
      Type.String({
        pattern: '^/',
        patternErrorMessage: 'expected a path starting with /',
        default: '/',
        description: 'Path of the warm-up GET request; any status counts as reachable',
      }),
    ),
  },
  { ...closed, description: 'An HTTP connection pool: context.resources.<name> is an undici Pool' },
);

/**
 * The resource kinds, each schema with `kind` as its discriminator.
 *
 * @example
 * resourceSchemas.postgres.properties.pool; // the schema of `pool:`
 */
export const resourceSchemas = {
  postgres: postgresResourceSchema,
  grpc: grpcResourceSchema,
  http: httpResourceSchema,
} as const;

/**
 * Resource names become `context.resources.<name>`: JavaScript identifiers, minus the names that would
 * make the object look like something else (`then` makes it a thenable).
 *
 * @example
 * new RegExp(resourceNamePattern).test('db'); // true; 'my-db' and 'then' are false
 */
export const resourceNamePattern = '^(?!(?:then|constructor|toJSON|__proto__)$)[A-Za-z_$][A-Za-z0-9_$]*$';

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

const deploy = Type.Object(
  {
    image: Type.Optional(Type.String({ minLength: 1, description: 'Container image reference' })),
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
