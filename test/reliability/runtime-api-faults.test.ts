import { afterEach, describe, expect, it } from 'vitest';
import { type Answer, type Recorded, startFakeRuntimeApi } from '../helpers/fake-runtime-api.js';
import { cleanEnv, handlers, runtimeCommand, type Spawned, spawnCaptured } from '../helpers/process.js';
import { startSlowRuntimeApi } from './slow-runtime-api.js';

// Issue 6, point 3: the Runtime API misbehaving, seen through the real bootstrap in Lambda mode. What is
// already covered elsewhere is not repeated: 410/413/400/403/500 on /response and a reset on a post are
// in test/adapters/lambda/runtime-api.test.ts. Here: /next resetting, answering 500 or slowly, and the
// same answers on /error.

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function runtimeOn(address: string, handler: string): Spawned {
  const runtime = spawnCaptured(
    runtimeCommand,
    cleanEnv({ AWS_LAMBDA_RUNTIME_API: address, LAMBDA_TASK_ROOT: handlers, _HANDLER: handler }),
  );
  cleanup.push(() => runtime.kill());
  return runtime;
}

async function onFake(handler: string, answer: (request: Recorded, index: number) => Answer | undefined) {
  const fake = await startFakeRuntimeApi({
    invocations: [
      { event: 'one', requestId: 'one' },
      { event: 'two', requestId: 'two' },
    ],
    answer,
  });
  cleanup.push(() => fake.close());
  return { fake, runtime: runtimeOn(fake.address, handler) };
}

const isNext = (r: Recorded) => r.method === 'GET' && r.path.endsWith('/invocation/next');
const posts = (fake: { requests: Recorded[] }, suffix: string) =>
  fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith(suffix));

describe('Runtime API faults on /next', () => {
  it('a connection reset is retried on a new connection: the invocation is answered once', async () => {
    let nexts = 0;
    const { fake, runtime } = await onFake('kinds/index.echo', (r) =>
      isNext(r) && nexts++ === 0 ? 'reset' : undefined,
    );
    await fake.waitFor((r) => r.path.endsWith('/two/response'));
    expect(posts(fake, '/one/response').map((r) => r.body.toString())).toEqual(['"one"']);
    expect(runtime.stdout()).toMatch(/\tWARN\tGET \/next: .*; retrying \(1\/2\)/);
    expect(runtime.child.exitCode).toBeNull();
  });

  it('resets that do not stop: exit 1 after two retries, the reason logged', async () => {
    const { fake, runtime } = await onFake('kinds/index.echo', (r) => (isNext(r) ? 'reset' : undefined));
    expect(await runtime.exited).toBe(1);
    expect(fake.requests.filter(isNext)).toHaveLength(3);
    expect(runtime.stdout()).toMatch(
      /ERROR\tRuntime API Error .*GET \/next: the Runtime API cannot be reached/,
    );
    expect(runtime.stdout() + runtime.stderr()).not.toMatch(/\n\s+at /);
  });

  it('a 500 ends the process with exit 1 and the answer in the log', async () => {
    const { fake, runtime } = await onFake('kinds/index.echo', (r) =>
      isNext(r) ? { status: 500, body: '{"errorType":"ServiceException"}' } : undefined,
    );
    expect(await runtime.exited).toBe(1);
    expect(fake.requests.filter(isNext)).toHaveLength(1);
    expect(runtime.stdout()).toMatch(/Runtime API Error .*GET \/next: the Runtime API answered 500/);
  });

  it('an answer that comes late and trickles in is waited for, not retried, and answered once', async () => {
    const event = JSON.stringify({ slow: 'x'.repeat(2_000) });
    const api = await startSlowRuntimeApi({ headersAfterMs: 1_500, event, chunks: 10, chunkEveryMs: 100 });
    cleanup.push(() => api.close());
    const runtime = runtimeOn(api.address, 'kinds/index.echo');
    // The first /next was not abandoned and repeated: one before the answer, one waiting after it.
    await expect
      .poll(() => api.requests.map((r) => r.method), { timeout: 10_000 })
      .toEqual(['GET', 'POST', 'GET']);
    expect(api.requests[1]).toEqual({
      method: 'POST',
      path: '/2018-06-01/runtime/invocation/slow-1/response',
      body: event,
    });
    expect(runtime.child.exitCode).toBeNull();
  });
});

describe('Runtime API faults on /error', () => {
  it.each([
    [410, 'WARN', 'answered 410 .*already timed out'],
    [413, 'ERROR', 'answered 413'],
  ] as const)('%i is logged and the loop goes on', async (status, level, text) => {
    const { fake, runtime } = await onFake('kinds/index.throwError', (r) =>
      r.path.endsWith('/one/error') ? status : undefined,
    );
    await fake.waitFor((r) => r.path.endsWith('/two/error'));
    await runtime.waitForOutput(new RegExp(`\\tone\\t${level}\\tPOST /error: .*${text}`));
    expect(runtime.child.exitCode).toBeNull();
  });

  it('a 500 ends the process with exit 1', async () => {
    const { fake, runtime } = await onFake('kinds/index.throwError', (r) =>
      r.path.endsWith('/error') ? 500 : undefined,
    );
    expect(await runtime.exited).toBe(1);
    expect(posts(fake, '/two/error')).toEqual([]);
    expect(runtime.stdout()).toMatch(/Runtime API Error .*POST \/error: the Runtime API answered 500/);
  });
});
