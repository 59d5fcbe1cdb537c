import { describe, expect, it } from 'vitest';
import { invokeHandler, startLocalLambda } from '../../bootstrap/testing.js';
import { awslambda } from '../../runtime/streaming.js';
import { cleanEnv, handlers, runtimeCommand } from '../helpers/process.js';

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

  it('startLocalLambda serves the invoke endpoint', async () => {
    const lambda = await startLocalLambda({
      handler: 'kinds/index.echo',
      taskRoot: handlers,
      command: runtimeCommand,
      env: cleanEnv(),
      output: { stdout: () => {}, stderr: () => {} },
    });
    try {
      const response = await fetch(lambda.invokeUrl, { method: 'POST', body: '{"x":1}' });
      expect(await response.json()).toEqual({ x: 1 });
    } finally {
      await lambda.close();
    }
  });
});
