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
    for (const problem of problems) process.stderr.write(`${fromHere(problem)}\n`);
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
  const protos = loadProtos(service);
  const problems = [
    ...(await checkHandler(service, protos.grpc)),
    ...protos.problems,
    ...(clash ? [clash] : []),
  ].map((p) => redactSecrets(p, secrets));
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`${fromHere(problem)}\n`);
    process.exit(1);
  }
  const resources = Object.entries(service.config?.config.resources ?? {}).map(
    ([name, r]) => `${name} (${r.kind})`,
  );
  const file = service.config ? fromHere(service.config.file) : 'no justfn.yaml';
  process.stdout.write(
    `${file}: ok — handler ${service.handler}${resources.length > 0 ? `, resources ${resources.join(', ')}` : ''}` +
      `${values.types ? `, types written to ${values.types}` : ''}\n`,
  );
}

/**
 * A line about a file under the working directory names it from there, as the user typed it
 * (`justfn.yaml: timeout: ...`); anything else stays absolute.
 */
function fromHere(line: string): string {
  const here = process.cwd() + path.sep;
  return line.startsWith(here) ? line.slice(here.length) : line;
}

/** `grpc`: the service gRPC mode serves, when its `.proto` loaded. */
async function checkHandler(service: Service, grpc: GrpcService | undefined): Promise<string[]> {
  installAwslambda();
  try {
    if (service.config?.config.grpc) {
      const exported = await resolveExport(service.handler, { taskRoot: service.taskRoot });
      toGrpcHandler(exported, service.handler);
      if (typeof exported === 'function' || !grpc) return [];
      return unservedMethods(service, grpc, exported as object);
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
function unservedMethods(service: Service, grpc: GrpcService, methods: object): string[] {
  const config = service.config!.config;
  const names = Object.keys(grpc.service);
  const served = names.filter((name) => typeof (methods as Record<string, unknown>)[name] === 'function');
  if (served.length > 0) return [];
  const own = Object.keys(methods).filter(
    (key) => typeof (methods as Record<string, unknown>)[key] === 'function',
  );
  return [
    `handler ${service.handler}: serves none of ${config.grpc!.service}'s methods (${names.join(', ')}); it has ${own.length > 0 ? own.join(', ') : 'no functions'}`,
  ];
}

type GrpcService = ReturnType<typeof loadGrpcService>;

/** Every `.proto` the file names (gRPC mode's and each gRPC resource's), each loaded once. */
function loadProtos(service: Service): { problems: string[]; grpc?: GrpcService } {
  if (!service.config) return { problems: [] };
  const { file, baseDir, config } = service.config;
  const protos = Object.entries(config.resources).flatMap(([name, r]) =>
    r.kind === 'grpc' ? [{ at: `resources.${name}`, proto: r.proto, service: r.service }] : [],
  );
  if (config.grpc) protos.unshift({ at: 'grpc', ...config.grpc });
  const problems: string[] = [];
  let grpc: GrpcService | undefined;
  for (const { at, proto, service: name } of protos) {
    try {
      const loaded = loadGrpcService(path.resolve(baseDir, proto), name, [baseDir]);
      if (at === 'grpc') grpc = loaded;
    } catch (error) {
      problems.push(`${file}: ${at}: ${(error as Error).message}`);
    }
  }
  return grpc ? { problems, grpc } : { problems };
}
