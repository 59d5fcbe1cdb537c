import { parse } from 'pg-connection-string';
import { normalise, type SchemaNode, type Walk } from './normalise.js';
import type { Problem } from './problems.js';
import { serviceSchema } from './schema.js';
import type { ServiceConfig } from './service-config.js';

const schema = serviceSchema as unknown as SchemaNode;

/** The `sslmode` values pg's connection-string parser acts on; any other (libpq's `allow`, a typo) is verify-full. */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

function sslmodeOf(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get('sslmode') ?? undefined;
  } catch {
    return undefined;
  }
}

/** Whether pg can read the URL at all, by its own parser (which takes some that `new URL` refuses). */
function pgParses(url: string): boolean {
  try {
    return !strayAt(url) && parse(url).port !== '0';
  } catch {
    return false;
  }
}

/**
 * An `@` after the authority where only a password can have put it: a raw `/`, `#` or `?` in the password
 * ended the authority early, so part of it became the host (`postgres://app:p@ss#word@db/app` connects to
 * `ss`) and the rest sits in the path, the fragment or a query parameter's name, where no mask finds it.
 * A query parameter's value may hold one (`?user=app@tenant`, `?application_name=svc@host`).
 */
function strayAt(url: string): boolean {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const [beforeFragment = '', fragment] = splitAt(rest, '#');
  const [path = '', query] = splitAt(beforeFragment, '?');
  if (path.includes('@') || fragment?.includes('@')) return true;
  return query?.split('&').some((parameter) => parameter.split('=', 1)[0]?.includes('@')) ?? false;
}

/** `text` cut at the first `separator`: before it, and after it (undefined when there is none). */
function splitAt(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function connectableOrigin(origin: string): boolean {
  try {
    return new URL(origin).port !== '0';
  } catch {
    return false;
  }
}

/** Schemes of grpc-js's own resolvers besides `dns:`, whose addresses it reads itself. */
const OTHER_GRPC_SCHEMES = ['unix', 'unix-abstract', 'ipv4', 'ipv6', 'xds'];

/**
 * A `host:port` (or `dns:[//authority]/host:port`) target whose port is one a connection can use and that
 * has no path: grpc-js takes `auth:50051/path` or port 99999 and retries it for ever.
 */
function connectableTarget(target: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1]?.toLowerCase();
  if (scheme !== undefined && OTHER_GRPC_SCHEMES.includes(scheme)) return true;
  const address =
    scheme === 'dns'
      ? target
          .slice(4)
          .replace(/^\/\/[^/]*\//, '')
          .replace(/^\//, '')
      : target;
  const port = /^(?:\[[^\]]*\]|[^:/[\]]+)(?::(\d*))?$/.exec(address);
  if (!port) return false;
  return port[1] === undefined || (Number(port[1]) >= 1 && Number(port[1]) <= 65535);
}

/**
 * Where substitutions were made in the document, so that their values are never quoted and a whole
 * `${VAR}` may stand for a number or a boolean.
 *
 * @example
 * validateService(doc, { touched: new Set(), whole: new Set() });
 */
export interface SubstitutionMarks {
  touched: ReadonlySet<string>;
  whole: ReadonlySet<string>;
}

/**
 * Validates a parsed, substituted `justfn.yaml` against `serviceSchema` and applies the defaults. Returns
 * the config when there is no problem, or every problem found (one per place).
 *
 * @example
 * const result = validateService({ name: 'users' }, { touched: new Set(), whole: new Set() });
 * if (result.ok) result.config.http; // { port: 8080, event: 'apigw-v2' }
 */
export function validateService(
  document: unknown,
  marks: SubstitutionMarks,
): { ok: true; config: ServiceConfig } | { ok: false; problems: Problem[] } {
  const walk: Walk = { ...marks, problems: [] };
  const value = normalise(schema, document, [], walk) as Record<string, unknown> | undefined;
  if (walk.problems.length > 0 || !value) return { ok: false, problems: walk.problems };
  if (value.grpc === undefined && value.http === undefined) {
    value.http = normalise(schema.properties?.http ?? {}, {}, ['http'], walk);
  }
  const config = value as unknown as ServiceConfig;
  for (const [name, resource] of Object.entries(config.resources)) {
    // Never quoted, as the URL below: the value may come from a secret. No retry could connect to either.
    if (resource.kind === 'http' && !connectableOrigin(resource.origin)) {
      walk.problems.push({
        path: ['resources', name, 'origin'],
        message: 'is not an origin undici can connect to: scheme://host with a port from 1 to 65535, if any',
      });
    }
    if (resource.kind === 'grpc' && !connectableTarget(resource.target)) {
      walk.problems.push({
        path: ['resources', name, 'target'],
        message:
          'is not a target grpc-js can connect to: host:port or dns:///host:port, with a port from 1 to 65535 and no path',
      });
    }
    if (resource.kind !== 'postgres') continue;
    if (resource.pool.min > resource.pool.max) {
      walk.problems.push({
        path: ['resources', name, 'pool', 'min'],
        message: `must not exceed pool.max (${resource.pool.max}), got ${resource.pool.min}`,
      });
    }
    if (!pgParses(resource.url)) {
      // Never quoted: the URL holds the password. A retry cannot fix it, so it is refused here.
      walk.problems.push({
        path: ['resources', name, 'url'],
        message:
          'is not a URL pg can read: a port from 1 to 65535, and /, # or ? in the user or password percent-encoded (%2F, %23, %3F)',
      });
      continue;
    }
    const sslmode = sslmodeOf(resource.url);
    if (sslmode !== undefined && !SSL_MODES.includes(sslmode)) {
      walk.problems.push({
        path: ['resources', name, 'url'],
        message: `sslmode=${JSON.stringify(sslmode).slice(1, -1)} is not one pg knows (${SSL_MODES.join(', ')}); pg would verify the certificate as for verify-full`,
      });
    }
  }
  const knative = config.deploy?.knative;
  // Knative's webhook refuses it ("max-scale=2 is less than min-scale=5"); 0 is no limit.
  if (knative && knative.maxScale !== 0 && knative.minScale > knative.maxScale) {
    walk.problems.push({
      path: ['deploy', 'knative', 'minScale'],
      message: `must not exceed deploy.knative.maxScale (${knative.maxScale}), got ${knative.minScale}`,
    });
  }
  return walk.problems.length > 0 ? { ok: false, problems: walk.problems } : { ok: true, config };
}
