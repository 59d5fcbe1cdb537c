import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { LoadedConfig } from '../runtime/config/load.js';
import type { FunctionInfo } from '../runtime/context.js';
import { createEmptyRegistry } from '../runtime/resources/empty-registry.js';
import type { ResourceLog } from '../runtime/resources/resource.js';
import type { ResourceRegistry } from '../runtime/resources/resource-registry.js';
import { maskInErrors } from '../runtime/secrets.js';
import { type FileSettings, mergeFileSettings, type Options } from './options.js';

export interface ServiceStart {
  options: Options;
  /** The environment, as data: `${VAR}` values in `justfn.yaml` come from it. */
  env: Record<string, string | undefined>;
  /** The handler named on the command line (container `CMD`), if any. */
  handlerArg?: string | undefined;
  taskRoot: string;
  importModule: (specifier: string) => Promise<unknown>;
}

/** Everything a mode needs to start: the final options, the handler string, and `justfn.yaml` if any. */
export interface Service {
  options: Options;
  handler: string;
  taskRoot: string;
  config?: LoadedConfig | undefined;
}

/**
 * Finds and loads `justfn.yaml` (`JUSTFN_CONFIG`, else `$LAMBDA_TASK_ROOT/justfn.yaml` when present) and
 * merges its settings under the environment's. The handler: the command line, `_HANDLER`, `handler:` in
 * the file, `index.handler`. Rejects with a `ConfigError` (one line per problem).
 *
 * @example
 * const service = await resolveService({ options, env: process.env, taskRoot: '/var/task', importModule });
 */
export async function resolveService(start: ServiceStart): Promise<Service> {
  const { env, taskRoot } = start;
  const file = start.options.configFile
    ? path.resolve(taskRoot, start.options.configFile)
    : path.join(taskRoot, 'justfn.yaml');
  // The YAML parser and the schema load only when there is a file to read.
  const config =
    start.options.configFile || existsSync(file)
      ? (await import('../runtime/config/load.js')).loadServiceConfig(file, env)
      : undefined;
  const options = config ? mergeFileSettings(start.options, env, fileSettings(config.config)) : start.options;
  const handler = start.handlerArg ?? options.handler ?? 'index.handler';
  return { options, handler, taskRoot, config };
}

/**
 * For a process that runs the function (the modes, `justfn invoke`): the configuration's secrets masked
 * in every error it reports (runtime/secrets.ts), but for `name` and `handler`, which say what runs and are
 * printed as they resolve (a `name: ${SERVICE}` would otherwise be cut out of every path and message).
 */
export function maskSecretsOf(service: Service): void {
  const loaded = service.config;
  if (!loaded) return;
  const printed = new Set([loaded.config.name, loaded.config.handler]);
  maskInErrors([...loaded.secrets].filter((secret) => !printed.has(secret)));
}

function fileSettings(config: LoadedConfig['config']): FileSettings {
  return {
    handler: config.handler,
    timeout: config.timeout,
    concurrency: config.concurrency,
    port: config.http?.port,
    httpEvent: config.http?.event,
    functionName: config.name,
    memorySize: config.memory === undefined ? undefined : String(config.memory),
  };
}

/**
 * The resources `justfn.yaml` declares, as one registry, closed; the registry's code and each declared
 * kind's load here, and only when there are some.
 */
export async function createRegistry(service: Service, log: ResourceLog): Promise<ResourceRegistry> {
  const config = service.config;
  const declared = config?.config.resources ?? {};
  if (Object.keys(declared).length === 0) return createEmptyRegistry();
  const { createResourceRegistry, loadKinds } = await import('../runtime/resources/registry.js');
  await loadKinds(Object.values(declared).map((resource) => resource.kind));
  return createResourceRegistry(declared, {
    baseDir: config?.baseDir ?? service.taskRoot,
    log,
    secrets: config?.secrets ?? new Set(),
    applicationName: config?.config.name ?? 'justfn',
  });
}

/**
 * The server modes' two ports, when they are one: the problem, naming where each came from (`justfn
 * start` refuses it; `justfn check` reports it). Undefined when the metrics are off or the ports differ.
 *
 * @example
 * portClash(service); // 'http.port in justfn.yaml and JUSTFN_METRICS_PORT (default) are both 9464: ...'
 */
export function portClash(service: Service, env: Record<string, string | undefined>): string | undefined {
  const { port, metricsPort } = service.options;
  if (metricsPort === 0 || port !== metricsPort) return undefined;
  const portFrom = env.PORT
    ? 'PORT'
    : service.config?.config.http?.port === port
      ? 'http.port in justfn.yaml'
      : 'PORT (default)';
  const metricsFrom = env.JUSTFN_METRICS_PORT ? 'JUSTFN_METRICS_PORT' : 'JUSTFN_METRICS_PORT (default)';
  return `${portFrom} and ${metricsFrom} are both ${port}: the metrics need a port of their own (JUSTFN_METRICS_PORT=0 turns them off)`;
}

/**
 * The function's side of a Lambda context, from the variables Lambda (or Knative) sets, with AWS's
 * defaults where a run has none: Lambda mode's and `justfn invoke`'s; the server modes' with the
 * cgroup's memory limit (`describeFunction`).
 *
 * @example
 * functionInfoOf(readOptions({ AWS_LAMBDA_FUNCTION_NAME: 'users' }, true)).logGroupName; // '/aws/lambda/users'
 */
export function functionInfoOf(options: Options): FunctionInfo {
  const functionName = options.functionName ?? 'justfn';
  return {
    functionName,
    functionVersion: options.functionVersion,
    memoryLimitInMB: options.memorySize ?? '3008',
    logGroupName: options.logGroupName ?? `/aws/lambda/${functionName}`,
    logStreamName: options.logStreamName ?? hostname(),
  };
}
