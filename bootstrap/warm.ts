import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLambdaSource } from '../adapters/lambda/lambda-source.js';
import { createRuntimeApiClient } from '../adapters/lambda/runtime-api-client.js';
import { loadHandler } from '../runtime/handler-loader.js';
import { createLambdaLog } from '../runtime/logging/lambda-log.js';
import { runLoop } from '../runtime/loop.js';
import { createSequentialScope } from '../runtime/scope.js';

const functionInfo = {
  functionName: 'warm',
  functionVersion: '$LATEST',
  memoryLimitInMB: '128',
  logGroupName: '/aws/lambda/warm',
  logStreamName: 'warm',
};

/**
 * Build step only (`scripts/build.mjs`): runs a few invocations of a throwaway handler through the real
 * Lambda code paths — loading, the Runtime API client, the loop, the log format — against a local
 * Runtime API, so the code cache written afterwards holds them compiled. A function's first invocation
 * then runs no compiler.
 */
export async function warmLambda(address: string, invocations = 3): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'justfn-warm-'));
  writeFileSync(
    path.join(dir, 'index.js'),
    'exports.handler = async (event, context) => ({ event, id: context.awsRequestId });\n',
  );
  const handler = await loadHandler('index.handler', { taskRoot: dir });
  rmSync(dir, { recursive: true, force: true });
  const scope = createSequentialScope();
  const log = createLambdaLog({ format: 'Text', level: 'TRACE', scope, stdout: () => {} });
  const api = createRuntimeApiClient(address, {
    userAgent: 'justfn/warm',
    workingDirectory: process.cwd(),
  });
  const source = createLambdaSource({ api, log });
  let left = invocations;
  const limited = { ...source, next: () => (left-- > 0 ? source.next() : Promise.resolve(undefined)) };
  await runLoop(limited, { handler, functionInfo, scope });
  log.info('warm %s', 'up', { n: 1 });
  log.logError('Invoke Error', new Error('warm'));
  await api.close();
}
