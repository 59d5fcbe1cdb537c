import { Type } from 'typebox';

/**
 * The resource kinds of `justfn.yaml`, part of `serviceSchema` (see `schema.ts` for how the schema is used).
 */

/**
 * Every object in `justfn.yaml` is closed: an unknown key is an error, not ignored.
 *
 * @example
 * Type.Object({ port: Type.Integer() }, closed);
 */
export const closed = { additionalProperties: false } as const;

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
