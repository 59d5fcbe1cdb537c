import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  invokeHandler,
  type LocalLambda,
  type LocalLambdaOptions,
  startLocalLambda,
} from '../../bootstrap/testing.js';
import { awslambda } from '../../runtime/streaming.js';
import { cleanEnv, fixtures, handlers, repoRoot, runtimeCommand, spawnCaptured } from '../helpers/process.js';

describe('justfn/testing', () => {
  it('invokeHandler runs a function with the runtime semantics', async () => {
    const outcome = await invokeHandler(
      async (event: { n: number }, context: { functionName: string }) => ({
        doubled: event.n * 2,
        name: context.functionName,
      }),
      { n: 21 },
      { context: { functionName: 'unit' } },
    );
    expect(outcome).toEqual({ ok: true, value: { doubled: 42, name: 'unit' } });
  });

  it('invokeHandler many times at once on an ES module with a top-level await: each answered, no listener warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () => invokeHandler('tla/index.handler', {}, { taskRoot: handlers })),
    );
    process.off('warning', onWarning);
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(30);
    expect(warnings).toEqual([]);
    expect(process.listenerCount('beforeExit')).toBe(0);
  });

  it('invokeHandler on an ES module whose top-level await never finishes rejects within its timeout, naming it', async () => {
    // Under a test runner the event loop never runs dry: only the timeout can end such an import.
    await expect(
      invokeHandler('tla-never/index.handler', {}, { taskRoot: handlers, timeout: 0.2 }),
    ).rejects.toMatchObject({
      name: 'Runtime.ImportModuleError',
      message: `${path.join(handlers, 'tla-never', 'index.mjs')}: its top-level await did not finish within 0.2 s`,
    });
    expect(process.listenerCount('beforeExit')).toBe(0);
  });

  it('invokeHandler on a handler string that does not load rejects with the error init would report', async () => {
    await expect(
      invokeHandler('syntax-error/index.handler', {}, { taskRoot: handlers }),
    ).rejects.toMatchObject({
      name: 'Runtime.UserCodeSyntaxError',
    });
  });

  it("invokeHandler's context overrides take the context's own field names", async () => {
    const ids = async (_event: unknown, c: { awsRequestId: string; xRayTraceId?: string }) => [
      c.awsRequestId,
      c.xRayTraceId,
    ];
    expect(
      await invokeHandler(ids, {}, { context: { awsRequestId: 'req-1', xRayTraceId: 'Root=1-2-3' } }),
    ).toEqual({ ok: true, value: ['req-1', 'Root=1-2-3'] });
    expect(await invokeHandler(ids, {}, { context: { requestId: 'req-2', traceId: 'Root=4' } })).toEqual({
      ok: true,
      value: ['req-2', 'Root=4'],
    });
  });

  it("invokeHandler's context has justfn emulate's defaults, the ARN following a given name", async () => {
    const context = async (_event: unknown, c: Record<string, unknown>) => ({ ...c });
    expect(await invokeHandler(context, {})).toMatchObject({
      value: {
        functionName: 'test_function',
        memoryLimitInMB: '3008',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:012345678912:function:test_function',
      },
    });
    expect(await invokeHandler(context, {}, { context: { functionName: 'unit' } })).toMatchObject({
      value: { invokedFunctionArn: 'arn:aws:lambda:us-east-1:012345678912:function:unit' },
    });
  });

  it('loading justfn/testing installs the global awslambda, as the runtime does before it loads a function', () => {
    expect(
      typeof (globalThis as unknown as { awslambda?: typeof awslambda }).awslambda?.streamifyResponse,
    ).toBe('function');
  });

  it('startLocalLambda with a taskRoot that does not exist rejects, naming it', async () => {
    await expect(startLocalLambda({ taskRoot: '/nonexistent/fn' })).rejects.toThrow(
      'startLocalLambda: taskRoot /nonexistent/fn: no such directory',
    );
  });

  it('invokeHandler gives the Lambda error payload', async () => {
    const outcome = await invokeHandler(() => {
      throw new TypeError('bad input');
    }, {});
    expect(outcome).toMatchObject({
      ok: false,
      error: { errorType: 'TypeError', errorMessage: 'bad input' },
    });
  });

  it('invokeHandler collects a streamed body', async () => {
    const handler = awslambda.streamifyResponse(async (_event: unknown, stream: NodeJS.WritableStream) => {
      stream.write('a');
      stream.end('b');
    });
    const outcome = await invokeHandler(handler, {});
    expect(outcome.ok && outcome.stream?.body.toString()).toBe('ab');
  });

  it('invokeHandler answers as Lambda would: undefined is null, a Date its string, a cycle is Runtime.JSONStringifyError', async () => {
    expect(await invokeHandler(async () => undefined, {})).toEqual({ ok: true, value: null });
    expect(await invokeHandler(async () => ({ at: new Date(0), gone: undefined }), {})).toEqual({
      ok: true,
      value: { at: '1970-01-01T00:00:00.000Z' },
    });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(await invokeHandler(async () => cycle, {})).toMatchObject({
      ok: false,
      error: { errorType: 'Runtime.JSONStringifyError', errorMessage: 'Unable to stringify response body' },
    });
  });

  it('invokeHandler: context.resources has the given names, and refuses the others as the runtime does', async () => {
    const outcome = await invokeHandler(
      async (_event: unknown, context: { resources: Record<string, unknown> }) => [
        context.resources.db,
        context.resources.nope,
      ],
      {},
      { resources: { db: 'a test double' } },
    );
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        errorType: 'Runtime.ResourceNotDeclared',
        // The same error type, the message naming where a test declares them.
        errorMessage:
          "context.resources.nope: no resource 'nope' is declared in invokeHandler's resources (declared: db)",
      },
    });
  });

  it('invokeHandler loads a handler string that uses the global awslambda, one a library made too', async () => {
    // What @aws/lambda-invoke-store (loaded by every AWS SDK v3 client) does when it loads.
    await import('@aws/lambda-invoke-store');
    const outcome = await invokeHandler('kinds/index.streamPlain', {}, { taskRoot: handlers });
    expect(outcome.ok && outcome.stream?.body.toString()).toBe('chunk1,{"json":true}');
  });

  it('startLocalLambda runs the function as justfn.yaml says: its handler, name, memory and timeout', async () => {
    const lambda = await localLambda({
      taskRoot: path.join(fixtures, 'lifecycle', 'local-lambda'),
      env: cleanEnv({ FOO: 'bar' }),
    });
    try {
      const response = await fetch(lambda.invokeUrl, { method: 'POST', body: '{}' });
      expect(await response.json()).toEqual({
        name: 'local-fn',
        memory: '256',
        remainingAtMost2s: true,
        foo: 'bar',
      });
    } finally {
      await lambda.close();
    }
  });

  it('startLocalLambda serves the invoke endpoint', async () => {
    const lambda = await localLambda({ handler: 'kinds/index.echo', taskRoot: handlers });
    try {
      const response = await fetch(lambda.invokeUrl, { method: 'POST', body: '{"x":1}' });
      expect(await response.json()).toEqual({ x: 1 });
    } finally {
      await lambda.close();
    }
  });

  it("startLocalLambda: the runtime's channel to it does not keep its event loop from running dry", async () => {
    const lambda = await localLambda({ handler: 'kinds/index.asyncNeverSettles', taskRoot: handlers });
    try {
      const response = await fetch(lambda.invokeUrl, { method: 'POST', body: '{}' });
      expect(await response.json()).toMatchObject({ errorType: 'Runtime.NodeJsExit' });
    } finally {
      await lambda.close();
    }
  });

  it('startLocalLambda in a process that dies without close(), an invocation running: the runtime ends too', async () => {
    // A test runner's worker torn down mid-test. The runtime inherits its output, as by default.
    const script = `import { startLocalLambda } from ${JSON.stringify(path.join(repoRoot, 'dist', 'testing.js'))};
const lambda = await startLocalLambda({
  taskRoot: ${JSON.stringify(handlers)},
  handler: 'kinds/index.sleep',
  report: (line) => line.startsWith('START') && setTimeout(() => console.log('runtime', lambda.runtimePid()), 200),
});
await fetch(lambda.invokeUrl, { method: 'POST', body: '{"ms":60000}' });`;
    const host = spawnCaptured(['node', '--input-type=module', '-e', script], cleanEnv());
    await host.waitForOutput(/runtime \d+/);
    const pid = Number(/runtime (\d+)/.exec(host.stdout())![1]);
    await host.kill('SIGKILL');
    try {
      await vi.waitFor(() => expect(running(pid)).toBe(false), { timeout: 5000, interval: 50 });
    } finally {
      if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

/** A local Lambda on this checkout's runtime, its output kept out of the test's. */
function localLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  return startLocalLambda({
    command: runtimeCommand,
    env: cleanEnv(),
    output: { stdout: () => {}, stderr: () => {} },
    ...options,
  });
}

/** Is the process there, and not a zombie its new parent has yet to reap? */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
