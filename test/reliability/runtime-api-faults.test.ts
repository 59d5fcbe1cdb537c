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

function runtimeOn(address: string, handler: string, env: Record<string, string> = {}): Spawned {
  const runtime = spawnCaptured(
    runtimeCommand,
    cleanEnv({ AWS_LAMBDA_RUNTIME_API: address, LAMBDA_TASK_ROOT: handlers, _HANDLER: handler, ...env }),
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

/** A `/next` answer written by hand: an invocation `id` with these extra headers. */
const firstEvent = (id: string, headers: Record<string, string> = {}) => ({
  status: 200,
  body: JSON.stringify(id),
  headers: {
    'lambda-runtime-aws-request-id': id,
    'lambda-runtime-deadline-ms': String(Date.now() + 30_000),
    ...headers,
  },
});

describe('Runtime API answers that cannot be used', () => {
  it('/next headers too large to read: exit 1 at once, not retried (a retry would skip the invocation they carried)', async () => {
    const { fake, runtime } = await onFake('kinds/index.echo', (_r, index) =>
      index === 0 ? firstEvent('big', { 'lambda-runtime-client-context': 'x'.repeat(70_000) }) : undefined,
    );
    expect(await runtime.exited).toBe(1);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /2018-06-01/runtime/invocation/next',
    ]);
    expect(runtime.stdout()).toMatch(
      /ERROR\tRuntime API Error .*GET \/next: the Runtime API's answer cannot be read \(UND_ERR_HEADERS_OVERFLOW/,
    );
  });

  it('/next cut off after its head: exit 1, not retried (the invocation it began is not skipped)', async () => {
    const { fake, runtime } = await onFake('kinds/index.echo', (_r, index) =>
      index === 0 ? { ...firstEvent('cut'), cut: true } : undefined,
    );
    expect(await runtime.exited).toBe(1);
    expect(fake.requests.filter(isNext)).toHaveLength(1);
    expect(runtime.stdout()).toMatch(/GET \/next: the Runtime API's answer cannot be read \(.*was cut off/);
  });

  it.each([['soon'], ['']])(
    'a Lambda-Runtime-Deadline-Ms of %j: that invocation fails naming the header, the next one runs',
    async (deadline) => {
      const fake = await startFakeRuntimeApi({
        invocations: [
          { event: 'one', requestId: 'one', headers: { 'lambda-runtime-deadline-ms': deadline } },
          { event: 'two', requestId: 'two' },
        ],
      });
      cleanup.push(() => fake.close());
      runtimeOn(fake.address, 'kinds/index.echo');
      const failed = await fake.waitFor((r) => r.path.endsWith('/one/error'));
      expect(JSON.parse(failed.body.toString())).toMatchObject({
        errorType: 'Runtime.InvalidEvent',
        errorMessage: `Lambda-Runtime-Deadline-Ms: expected epoch milliseconds, got ${JSON.stringify(deadline)}`,
      });
      const answered = await fake.waitFor((r) => r.path.endsWith('/two/response'));
      expect(answered.body.toString()).toBe('"two"');
    },
  );

  it('/restore/next answering 500: exit 1, nothing posted (the Runtime API failed, not the function)', async () => {
    const fake = await startFakeRuntimeApi({
      answer: (r) => (r.path.endsWith('/restore/next') ? 500 : undefined),
    });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'kinds/index.echo', {
      AWS_LAMBDA_INITIALIZATION_TYPE: 'snap-start',
    });
    expect(await runtime.exited).toBe(1);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /2018-06-01/runtime/restore/next',
    ]);
    expect(runtime.stdout()).toMatch(/Runtime API Error .*GET \/restore\/next: the Runtime API answered 500/);
  });

  it('an image CMD that names no handler: /init/error with Runtime.MalformedHandlerName, exit 2', async () => {
    const fake = await startFakeRuntimeApi();
    cleanup.push(() => fake.close());
    const runtime = spawnCaptured(
      [...runtimeCommand, 'src/handler'],
      cleanEnv({ AWS_LAMBDA_RUNTIME_API: fake.address, LAMBDA_TASK_ROOT: handlers }),
    );
    cleanup.push(() => runtime.kill());
    expect(await runtime.exited).toBe(2);
    const posted = await fake.waitFor((r) => r.path === '/2018-06-01/runtime/init/error');
    expect(posted.headers['lambda-runtime-function-error-type']).toBe('Runtime.MalformedHandlerName');
    expect(JSON.parse(posted.body.toString()).errorMessage).toMatch(/src\/handler/);
  });
});

describe('uncaught exceptions on the wire', () => {
  it('in the turns after init, before any invocation: /init/error with the error, exit 129', async () => {
    const fake = await startFakeRuntimeApi();
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'crashes/socket-at-load.handler');
    expect(await runtime.exited).toBe(129);
    const posted = await fake.waitFor((r) => r.path === '/2018-06-01/runtime/init/error');
    expect(JSON.parse(posted.body.toString())).toMatchObject({
      errorType: 'Error',
      errorMessage: 'connect ECONNREFUSED 127.0.0.1:1',
    });
  });

  it('before its answer: the /error only, no answer after it and no new /next, exit 129', async () => {
    const fake = await startFakeRuntimeApi({
      invocations: [
        { event: {}, requestId: 'one' },
        { event: {}, requestId: 'two' },
      ],
      // A slow Runtime API: the handler's answer is ready while the crash's /error is still on its way.
      answer: (r) =>
        r.path.endsWith('/one/error')
          ? new Promise<Answer>((resolve) => setTimeout(() => resolve(202), 300))
          : undefined,
    });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'crashes/index.throwsThenAnswers');
    expect(await runtime.exited).toBe(129);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /2018-06-01/runtime/invocation/next',
      'POST /2018-06-01/runtime/invocation/one/error',
    ]);
  });

  it('mid-stream: the stream ends with the error in its trailers, no /error beside it, exit 129', async () => {
    const fake = await startFakeRuntimeApi({ invocations: [{ event: {}, requestId: 'streamed' }] });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'crashes/index.streamThenThrow');
    expect(await runtime.exited).toBe(129);
    const [streamed] = posts(fake, '/streamed/response');
    expect(streamed?.body.toString()).toBe('part1 ');
    expect(streamed?.trailers['lambda-runtime-function-error-type']).toBe('TypeError');
    const body = JSON.parse(
      Buffer.from(streamed!.trailers['lambda-runtime-function-error-body']!, 'base64').toString(),
    );
    expect(body).toMatchObject({ errorType: 'TypeError', errorMessage: 'thrown mid-stream' });
    expect(posts(fake, '/streamed/error')).toEqual([]);
  });

  it('while its answer is being posted: the answer is waited for and kept, no /error after it, exit 129', async () => {
    let release: () => void = () => {};
    const fake = await startFakeRuntimeApi({
      invocations: [{ event: {}, requestId: 'slow' }],
      // RAPID takes its time over the answer: the exception comes while the /response is in flight.
      answer: (r) =>
        r.path.endsWith('/slow/response')
          ? new Promise<Answer>((resolve) => {
              release = () => resolve(202);
            })
          : undefined,
    });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'crashes/index.throwsAfterAnswer');
    await runtime.waitForOutput(/Uncaught Exception/);
    expect(runtime.child.exitCode).toBeNull();
    release();
    expect(await runtime.exited).toBe(129);
    expect(posts(fake, '/slow/response').map((r) => r.body.toString())).toEqual(['"answered"']);
    expect(posts(fake, '/slow/error')).toEqual([]);
  });

  it('on managed instances: the throwing invocation gets its error, the others Runtime.ExitError, though a /next is held', async () => {
    let first = true;
    const fake = await startFakeRuntimeApi({
      invocations: [
        { event: { crash: false }, requestId: 'calm' },
        { event: { crash: true }, requestId: 'boom' },
      ],
      // The first /next is never answered: a crash report queued behind it on that connection would
      // never go out, and the process would go on serving.
      answer: (r) => {
        if (!isNext(r) || !first) return undefined;
        first = false;
        return new Promise<Answer>(() => {});
      },
    });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'crashes/index.sideBySide', {
      AWS_LAMBDA_MAX_CONCURRENCY: '3',
    });
    expect(await runtime.exited).toBe(129);
    const error = (id: string) => JSON.parse(posts(fake, `/${id}/error`)[0]?.body.toString() ?? 'null');
    expect(error('boom')).toMatchObject({ errorType: 'Error', errorMessage: 'boom in boom' });
    expect(error('calm')).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage:
        'Runtime exited with error: exit status 129 (an uncaught exception outside this invocation)',
    });
    expect(posts(fake, '/response')).toEqual([]);
  });

  it('on managed instances: one handed out while a crash is reported gets Runtime.ExitError, not silence', async () => {
    let nexts = 0;
    const late = {
      status: 200,
      body: JSON.stringify({ crash: false }),
      headers: {
        'lambda-runtime-aws-request-id': 'late',
        'lambda-runtime-deadline-ms': String(Date.now() + 60_000),
        'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:012345678912:function:fake',
      },
    };
    const fake = await startFakeRuntimeApi({
      invocations: [{ event: { crash: true }, requestId: 'boom' }],
      answer: (r) => {
        // The crash's own /error is answered slowly: its report lasts a second.
        if (r.path.endsWith('/boom/error'))
          return new Promise<Answer>((resolve) => setTimeout(resolve, 1_000, 202));
        if (!isNext(r) || nexts++ === 0) return undefined;
        // Another loop's /next: answered once the crash is being reported.
        return fake.waitFor((one) => one.path.endsWith('/boom/error')).then(() => late);
      },
    });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'crashes/index.sideBySide', {
      AWS_LAMBDA_MAX_CONCURRENCY: '2',
    });
    expect(await runtime.exited).toBe(129);
    expect(JSON.parse(posts(fake, '/late/error')[0]?.body.toString() ?? 'null')).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage:
        'Runtime exited with error: exit status 129 (an uncaught exception outside this invocation)',
    });
  });

  it('on managed instances: a rejection nothing handles fails its own invocation; the others finish', async () => {
    const fake = await startFakeRuntimeApi({
      invocations: [
        { event: { reject: false }, requestId: 'calm' },
        { event: { reject: true }, requestId: 'sloppy' },
      ],
    });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'crashes/index.sideBySideRejects', {
      AWS_LAMBDA_MAX_CONCURRENCY: '3',
    });
    await fake.waitFor((r) => r.path.endsWith('/calm/response'));
    expect(JSON.parse(posts(fake, '/sloppy/error')[0]?.body.toString() ?? 'null')).toMatchObject({
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'Error: rejected in sloppy',
    });
    // Its handler finished later: its result is not posted after the error. Each loop asks for its next
    // invocation once it is done with the last one: three at the start, then calm's and sloppy's.
    const nexts = () =>
      fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/invocation/next')).length;
    await expect.poll(nexts).toBe(5);
    expect(posts(fake, '/sloppy/response')).toEqual([]);
    expect(posts(fake, '/calm/response').map((r) => r.body.toString())).toEqual(['"finished"']);
    expect(runtime.child.exitCode).toBeNull();
  });

  it('on managed instances: SIGTERM lets the invocations in flight answer before the exit', async () => {
    const fake = await startFakeRuntimeApi({
      invocations: [
        { event: {}, requestId: 'a' },
        { event: {}, requestId: 'b' },
      ],
    });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'crashes/index.untilAborted', {
      AWS_LAMBDA_MAX_CONCURRENCY: '3',
      JUSTFN_LAMBDA_SIGTERM: '1',
    });
    await fake.waitFor(() => fake.requests.filter(isNext).length === 3);
    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toBe(0);
    for (const id of ['a', 'b']) {
      expect(posts(fake, `/${id}/response`).map((r) => r.body.toString())).toEqual([
        '"aborted: Runtime.Draining"',
      ]);
    }
  });
});

describe('the log has no reader', () => {
  it("stdout's pipe closed: the lines are lost, the invocations are answered, the process idles", async () => {
    const fake = await startFakeRuntimeApi({
      invocations: [1, 2, 3].map((n) => ({ event: { n }, requestId: `r${n}` })),
      // The first /next waits until the pipe is closed: every invocation then logs into the void.
      answer: (r, index) =>
        index === 0 && isNext(r)
          ? new Promise<Answer>((resolve) => setTimeout(resolve, 300, 'reset'))
          : undefined,
    });
    cleanup.push(() => fake.close());
    const runtime = runtimeOn(fake.address, 'kinds/index.logs');
    runtime.child.stdout?.destroy();
    await fake.waitFor((r) => r.path.endsWith('/r3/response'));
    expect(posts(fake, '/error')).toEqual([]);
    expect(runtime.child.exitCode).toBeNull();
  });
});
