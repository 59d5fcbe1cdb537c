import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { createCleanup, fixture } from './harness.js';

// A function imports `justfn` from its own node_modules: a second copy of the classes, beside the
// runtime's bundle. What the function does with its copy must work on the runtime's objects.

const cleanup = createCleanup();
afterEach(cleanup.run);

describe("the classes of the function's own copy of justfn", () => {
  it('HttpResponseStream.from sets the status and headers in HTTP mode', async () => {
    const runtime = await startHttpRuntime('index.stream', { LAMBDA_TASK_ROOT: fixture('package-copy') });
    cleanup.add(() => runtime.stop());
    const response = await request(`${runtime.url}/`);
    expect(response.statusCode).toBe(201);
    expect(response.headers['x-from']).toBe('package');
    expect(await response.body.json()).toEqual({ isResponseStream: true });
  });

  it('HttpResponseStream.from sends the prelude and its 8 NULs in Lambda mode', async () => {
    const local = await startTestEmulator('index.stream', { taskRoot: fixture('package-copy') });
    cleanup.add(local.close);
    const reply = await local.invoke('{}');
    expect(reply.headers['content-type']).toBe('application/vnd.awslambda.http-integration-response');
    expect(reply.text).toBe(
      `{"statusCode":201,"headers":{"x-from":"package"}}${'\0'.repeat(8)}{"isResponseStream":true}`,
    );
  });

  it('instanceof LambdaContext and JustfnError hold for what the runtime made', async () => {
    const local = await startTestEmulator('index.classes', { taskRoot: fixture('package-copy') });
    cleanup.add(local.close);
    expect(JSON.parse((await local.invoke('{}')).text)).toEqual({
      context: true,
      error: true,
      errorName: 'Runtime.ResourceNotDeclared',
      plainObject: false,
    });
  });
});
