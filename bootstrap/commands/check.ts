import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { redactSecrets } from '../../runtime/config/redact.js';
import { loadHandler } from '../../runtime/handler-loader.js';
import { loadGrpcService } from '../../runtime/resources/grpc.js';
import { toResourcesDts } from '../../runtime/resources/resources-of.js';
import { installAwslambda } from '../../runtime/streaming.js';
import type { Service } from '../service.js';
import { loadTarget } from './target.js';

/**
 * `justfn check [dir] [--types FILE]`: validates `justfn.yaml` (one line per problem), resolves the
 * handler as the runtime would, checks every gRPC resource's `.proto` names its service, and with
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
    mkdirSync(path.dirname(path.resolve(values.types)), { recursive: true });
    writeFileSync(values.types, toResourcesDts(service.config?.config ?? { resources: {} }));
  }
  const secrets = service.config?.secrets ?? new Set<string>();
  const problems = [...(await checkHandler(service)), ...checkProtos(service)].map((p) =>
    redactSecrets(p, secrets),
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
    await loadHandler(service.handler, { taskRoot: service.taskRoot });
    return [];
  } catch (error) {
    const e = error as Error;
    return [`handler ${service.handler}: ${e.name}: ${e.message.split('\n')[0]}`];
  }
}

function checkProtos(service: Service): string[] {
  const problems: string[] = [];
  for (const [name, resource] of Object.entries(service.config?.config.resources ?? {})) {
    if (resource.kind !== 'grpc') continue;
    try {
      loadGrpcService(path.resolve(service.config!.baseDir, resource.proto), resource.service, [
        service.config!.baseDir,
      ]);
    } catch (error) {
      problems.push(`${service.config!.file}: resources.${name}: ${(error as Error).message}`);
    }
  }
  return problems;
}
