// Starting a runtime in Lambda mode against its own mock Runtime API, shared by the suites that need one.

import { startMockRuntimeApi } from './mock-runtime-api.mjs';
import { spawnClean } from './spawn.mjs';

/** What Lambda sets for a function (the variables a runtime reads); the rest of the environment is clean. */
export function lambdaEnv(api, taskRoot, handler) {
  return {
    AWS_LAMBDA_RUNTIME_API: api.address,
    LAMBDA_TASK_ROOT: taskRoot,
    _HANDLER: handler,
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/bench',
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]0123456789abcdef',
  };
}

/**
 * Spawns one runtime (`command args`, cwd and LAMBDA_TASK_ROOT = `taskRoot`) against a mock of its own and
 * waits for its first response, which must be `expect` (a string, or a predicate on the body); the mock
 * then holds `/next` (the runtime idles) until told to serve. The caller must `stop()` it.
 *
 * @param {{ name: string, command: string, args: string[], taskRoot: string, handler?: string,
 *   env?: Record<string, string>, expect: string | ((body: string) => boolean), record?: boolean }} runtime
 */
export async function launchLambda(runtime) {
  const api = await startMockRuntimeApi({ record: runtime.record });
  const handler = runtime.handler ?? 'index.handler';
  const child = spawnClean(runtime.command, runtime.args, {
    cwd: runtime.taskRoot,
    env: { ...lambdaEnv(api, runtime.taskRoot, handler), ...runtime.env },
  });
  const stop = async () => {
    await child.kill();
    await api.close();
  };
  const expected = typeof runtime.expect === 'function' ? runtime.expect : (body) => body === runtime.expect;
  try {
    await Promise.race([
      api.until(() => api.firstResponseAt !== undefined || api.errors.length > 0, 20_000, 'a first response'),
      child.exited.then(({ code, signal }) => {
        throw new Error(`exited (code ${code}, signal ${signal}) before its first response`);
      }),
    ]);
    if (api.errors.length > 0) throw new Error(`posted ${api.errors[0]}`);
    if (!expected(api.firstResponseBody)) {
      throw new Error(`answered ${JSON.stringify(api.firstResponseBody)}, not what the suite expects`);
    }
  } catch (error) {
    const output = child.output().trim();
    await stop();
    throw new Error(`${runtime.name}: ${error.message}${output ? `\n--- its output ---\n${output}` : ''}`);
  }
  return { api, child, stop, name: runtime.name };
}
