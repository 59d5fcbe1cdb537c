import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { toGrpcHandler } from '../../adapters/grpc/grpc-handler.js';
import { makeDirectory } from '../../adapters/make-directory.js';
import { redactSecrets } from '../../runtime/config/redact.js';
import { loadHandler, resolveExport } from '../../runtime/handler-loader.js';
import { loadGrpcService } from '../../runtime/resources/grpc.js';
import { toResourcesDts } from '../../runtime/resources/resources-of.js';
import { installAwslambda } from '../../runtime/streaming.js';
import { portClash, type Service } from '../service.js';
import { loadTarget } from './target.js';

/**
 * `justfn check [dir] [--types FILE]`: validates `justfn.yaml` (one line per problem), resolves the
 * handler as the runtime would (in gRPC mode, a function or an object of functions), checks that every
 * `.proto` (gRPC mode's and each gRPC resource's) parses and names its service, and with
 * `--types` writes the `Resources` type of the declared resources. Exits 1 with the reasons; prints no
 * value that came from a variable or a secret file.
 */
export async function checkCommand(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { types: { type: 'string' } },
  });
  let service: Service;
  try {
    service = await loadTarget(positionals, process.env);
  } catch (error) {
    const problems = (error as { problems?: string[] }).problems ?? [
      String((error as Error).message ?? error),
    ];
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  // Written before the handler is checked: a TypeScript function needs the type to compile, and is
  // compiled before its handler can load.
  if (values.types) {
    makeDirectory(path.dirname(path.resolve(values.types)));
    writeFileSync(values.types, toResourcesDts(service.config?.config ?? { resources: {} }));
  }
  const secrets = service.config?.secrets ?? new Set<string>();
  const clash = portClash(service, process.env);
  const problems = [...(await checkHandler(service)), ...checkProtos(service), ...(clash ? [clash] : [])].map(
    (p) => redactSecrets(p, secrets),
  );
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  const resources = Object.entries(service.config?.config.resources ?? {}).map(
    ([name, r]) => `${name} (${r.kind})`,
  );
  const file = service.config
    ? path.relative(process.cwd(), service.config.file) || service.config.file
    : 'no justfn.yaml';
  process.stdout.write(
    `${file}: ok — handler ${service.handler}${resources.length > 0 ? `, resources ${resources.join(', ')}` : ''}` +
      `${values.types ? `, types written to ${values.types}` : ''}\n`,
  );
}

async function checkHandler(service: Service): Promise<string[]> {
  installAwslambda();
  try {
    if (service.config?.config.grpc) {
      const exported = await resolveExport(service.handler, { taskRoot: service.taskRoot });
      toGrpcHandler(exported, service.handler);
      return typeof exported === 'function' ? [] : unservedMethods(service, exported as object);
    }
    await loadHandler(service.handler, { taskRoot: service.taskRoot });
    return [];
  } catch (error) {
    const e = error as Error;
    return [`handler ${service.handler}: ${e.name}: ${e.message.split('\n')[0]}${moduleHint(service, e)}`];
  }
}

/**
 * For a handler module that is not there (`indx.handler`): what its directory has that a handler string
 * could name, since AWS's message (`Cannot find module 'indx'`) says neither where it looked nor what is there.
 */
function moduleHint(service: Service, error: Error): string {
  if (error.name !== 'Runtime.ImportModuleError') return '';
  const module = service.handler.slice(0, service.handler.indexOf('.'));
  if (!error.message.includes(`Cannot find module '${path.basename(module)}'`)) return '';
  const dir = path.resolve(service.taskRoot, path.dirname(module));
  let there: string[];
  try {
    there = readdirSync(dir).filter((name) => /\.(c|m)?js$/.test(name));
  } catch {
    return ` (no directory ${dir})`;
  }
  const names = there.length > 0 ? `; it has ${there.join(', ')}` : '; it has no .js, .mjs or .cjs file';
  return ` (looked for ${path.basename(module)}.js, .mjs and .cjs in ${dir}${names})`;
}

/** An object of methods that serves none of the service's (a typo in every name): every call would be UNIMPLEMENTED. */
function unservedMethods(service: Service, methods: object): string[] {
  const { baseDir, config } = service.config!;
  let names: string[];
  try {
    names = Object.keys(
      loadGrpcService(path.resolve(baseDir, config.grpc!.proto), config.grpc!.service, [baseDir]).service,
    );
  } catch {
    return []; // the .proto's own problem, reported by checkProtos
  }
  const served = names.filter((name) => typeof (methods as Record<string, unknown>)[name] === 'function');
  if (served.length > 0) return [];
  const own = Object.keys(methods).filter(
    (key) => typeof (methods as Record<string, unknown>)[key] === 'function',
  );
  return [
    `handler ${service.handler}: serves none of ${config.grpc!.service}'s methods (${names.join(', ')}); it has ${own.length > 0 ? own.join(', ') : 'no functions'}`,
  ];
}

function checkProtos(service: Service): string[] {
  if (!service.config) return [];
  const { file, baseDir, config } = service.config;
  const protos = Object.entries(config.resources).flatMap(([name, r]) =>
    r.kind === 'grpc' ? [{ at: `resources.${name}`, proto: r.proto, service: r.service }] : [],
  );
  if (config.grpc) protos.unshift({ at: 'grpc', ...config.grpc });
  return protos.flatMap(({ at, proto, service: name }) => {
    try {
      loadGrpcService(path.resolve(baseDir, proto), name, [baseDir]);
      return [];
    } catch (error) {
      return [`${file}: ${at}: ${(error as Error).message}`];
    }
  });
}
