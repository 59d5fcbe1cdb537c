import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { greeterDir, healthCheck, startGrpcRuntime, watchHealth } from '../../helpers/grpc-runtime.js';
import { scrape } from '../../helpers/metrics.js';
import { freePort } from '../../helpers/postgres.js';

type Runtime = Awaited<ReturnType<typeof startGrpcRuntime>>;
const started: Runtime[] = [];
afterAll(() => Promise.all(started.map((r) => r.stop())));
const serve = async (env: Record<string, string> = {}) => {
  const runtime = await startGrpcRuntime(env);
  started.push(runtime);
  return runtime;
};

/** A server-streaming call: what arrived, and how the call ended. */
const serverStream = (runtime: Runtime, method: string, request: object, options: grpc.CallOptions = {}) => {
  const call = (runtime.client[method] as Function).call(
    runtime.client,
    request,
    options,
  ) as grpc.ClientReadableStream<{
    n: number;
  }>;
  const got: number[] = [];
  call.on('data', (reply) => got.push(reply.n));
  return {
    call,
    got,
    ended: new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve)).then((s) => {
      call.on('error', () => {});
      return s;
    }),
  };
};

const count = (runtime: Runtime, request: object, options?: grpc.CallOptions) =>
  serverStream(runtime, 'Count', request, options);
/** A call to `Slow` that sleeps `ms` unless the test cancels it; nothing waits for its answer. */
const cancellableSlow = (runtime: Runtime, ms: number) =>
  (runtime.client as unknown as Record<string, Function>).Slow!.call(
    runtime.client,
    { ms },
    () => {},
  ) as grpc.ClientUnaryCall;
/** Resolves once `count` calls to `Slow` for `ms` have started: the fixture logs each as it starts. */
const slowStarted = (runtime: Runtime, ms: number, count = 1) =>
  expect
    .poll(() => runtime.logs().filter((l) => l.msg === `slow started ${ms}`), { timeout: 10_000 })
    .toHaveLength(count);
/** The messages of the lines the handler logged that start with `text`. */
const logged = (runtime: Runtime, text: string) =>
  runtime
    .logs()
    .map((l) => String(l.msg))
    .filter((msg) => msg.startsWith(text));

describe('gRPC mode: each call is an invocation', () => {
  it('a unary call succeeds; its request id is in the trailer and on its log lines', async () => {
    const runtime = await serve();
    const { value, trailer } = await runtime.unary('SayHello', { name: 'ada' });
    expect(value).toMatchObject({ message: 'hello, ada' });
    const requestId = trailer?.get('x-request-id')[0];
    expect(value?.request_id).toBe(requestId);
    await runtime.process.waitForOutput('"msg":"hello ada"');
    expect(runtime.logs().find((l) => l.msg === 'hello ada')?.requestId).toBe(requestId);
  });

  it("a thrown error with a gRPC code answers that status and message; the caller's fault is no server error", async () => {
    const runtime = await serve();
    const { error } = await runtime.unary('Fail', { how: 'status' });
    expect([error?.code, error?.details]).toEqual([grpc.status.NOT_FOUND, 'no such user']);
    // As an HTTP handler's 404: logged at info, without a stack, not as an Invoke Error.
    await runtime.process.waitForOutput('Invoke answered NOT_FOUND');
    const line = runtime.logs().find((l) => l.msg === 'Invoke answered NOT_FOUND');
    expect(line).toMatchObject({ level: 'info', method: 'Fail', code: 'NOT_FOUND', message: 'no such user' });
    expect(runtime.logs().filter((l) => l.msg === 'Invoke Error')).toEqual([]);
  });

  it('any other error is INTERNAL without its message, unless JUSTFN_EXPOSE_ERRORS=1', async () => {
    const hidden = await (await serve()).unary('Fail', { how: 'other' });
    expect([hidden.error?.code, hidden.error?.details]).toEqual([grpc.status.INTERNAL, 'Internal error']);
    const shown = await (await serve({ JUSTFN_EXPOSE_ERRORS: '1' })).unary('Fail', { how: 'other' });
    expect(shown.error?.details).toBe('Error: secret detail: password hunter2');
  });

  it("the call's deadline is the invocation's: DEADLINE_EXCEEDED, and context.signal aborts", async () => {
    const runtime = await serve();
    const { error } = await runtime.unary('Slow', { ms: 5000 }, { deadline: Date.now() + 300 });
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await runtime.process.waitForOutput('slow done, aborted: true Sandbox.Timedout');
  });

  it('a call the client cancels aborts its context.signal, and its slot is free once the handler stops', async () => {
    const runtime = await serve({ JUSTFN_CONCURRENCY: '1' });
    const call = cancellableSlow(runtime, 30_000);
    await slowStarted(runtime, 30_000);
    call.cancel();
    // Aborted for the cancel, long before its 30 s sleep or its deadline.
    await runtime.process.waitForOutput('slow done, aborted: true Runtime.Cancelled');
    expect((await runtime.unary('SayHello', { name: 'next' })).value?.message).toBe('hello, next');
    expect(runtime.logs().filter((l) => l.msg === 'Invoke Error')).toEqual([]);
  });

  it("what abort listeners log at a cancel or a deadline carries that call's own request id", async () => {
    const runtime = await serve();
    // Side by side: one long call, four the client cancels, four that pass their deadline (one batch of
    // deadline timers, armed in one of them).
    const long = runtime.unary('Slow', { ms: 1500 });
    const calls = Array.from({ length: 4 }, () => cancellableSlow(runtime, 30_000));
    const timed = Array.from({ length: 4 }, () =>
      runtime.unary('Slow', { ms: 29_999 }, { deadline: Date.now() + 400 }),
    );
    // Cancelled once their handlers run (a call cancelled before would never start).
    await slowStarted(runtime, 30_000, 4);
    for (const call of calls) call.cancel();
    await Promise.all([long, ...timed]);
    const heard = () => runtime.logs().filter((l) => String(l.msg).startsWith('abort heard by'));
    await expect.poll(heard, { timeout: 10_000 }).toHaveLength(8);
    for (const line of heard()) {
      const [, , , id, stored] = String(line.msg).split(' ');
      expect([line.requestId, stored], String(line.msg)).toEqual([id, id]);
    }
  });

  it('a call whose deadline passes while it waits for a slot is never run', async () => {
    const runtime = await serve({ JUSTFN_CONCURRENCY: '1' });
    const first = cancellableSlow(runtime, 30_000);
    await slowStarted(runtime, 30_000);
    const late = await runtime.unary('SayHello', { name: 'late' }, { deadline: Date.now() + 300 });
    expect(late.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // The slot frees only now, whatever time the late call's deadline took to pass.
    first.cancel();
    await runtime.process.waitForOutput('slow done, aborted: true Runtime.Cancelled');
    // Its turn came after its deadline: the call is cancelled by then, so it is dropped, not run.
    expect((await runtime.unary('SayHello', { name: 'after' })).value?.message).toBe('hello, after');
    expect(runtime.logs().filter((l) => String(l.msg).startsWith('hello late'))).toEqual([]);
    expect((await runtime.unary('SayHello', { name: 'next' })).value?.message).toBe('hello, next');
  });

  it('a call refused for overload is UNAVAILABLE with a retry pushback: the handler never ran', async () => {
    const metricsPort = await freePort();
    const runtime = await serve({
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_QUEUE: '1',
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
    // The slot is held until the test lets it go, the queue's one place taken meanwhile.
    const running = cancellableSlow(runtime, 30_000);
    await slowStarted(runtime, 30_000);
    const queued = runtime.unary('Slow', { ms: 10 });
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_queue_depth')).toBe(1);
    const refused = await runtime.unary('SayHello', { name: 'refused' });
    expect([refused.error?.code, refused.error?.details]).toEqual([
      grpc.status.UNAVAILABLE,
      'too many calls running and waiting',
    ]);
    expect(refused.trailer?.get('grpc-retry-pushback-ms')).toEqual(['1000']);
    expect(refused.trailer?.get('x-request-id')).toHaveLength(1);
    // The ones accepted are served: the queued one runs once the slot is free.
    running.cancel();
    expect((await queued).value?.message).toBe('slept 10');
    expect(runtime.logs().filter((l) => String(l.msg).startsWith('hello refused'))).toEqual([]);
  });

  it('methods the handler lacks, and client streaming, answer UNIMPLEMENTED', async () => {
    const runtime = await serve();
    expect((await runtime.unary('NotImplemented', { name: 'x' })).error?.code).toBe(
      grpc.status.UNIMPLEMENTED,
    );
    const upload = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = (runtime.client.Upload as Function).call(
        runtime.client,
        (error: grpc.ServiceError | null) => resolve(error),
      );
      call.end();
    });
    expect(upload?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('a server-streaming method streams what an async generator yields', async () => {
    const runtime = await serve();
    const call = (runtime.client.Count as Function).call(runtime.client, {
      to: 4,
    }) as grpc.ClientReadableStream<{ n: number }>;
    const got: number[] = [];
    call.on('data', (reply) => got.push(reply.n));
    await new Promise((resolve) => call.on('end', resolve));
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('a stream is held to the deadline too: DEADLINE_EXCEEDED, the iterator closed, the slot given back', async () => {
    const runtime = await serve({ JUSTFN_TIMEOUT: '1', JUSTFN_CONCURRENCY: '1' });
    const stream = count(runtime, { to: 10, ms: 400 });
    stream.call.on('error', () => {});
    const ended = await stream.ended;
    expect(ended.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(stream.got).toEqual([1, 2]);
    await runtime.process.waitForOutput('count closed');
    expect((await runtime.unary('SayHello', { name: 'after' })).value?.message).toBe('hello, after');
    // Logged as a unary call's timeout is (the same JUSTFN_TIMEOUT here), and as HTTP mode logs one.
    expect((await runtime.unary('Slow', { ms: 3000 })).error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await runtime.process.waitForOutput(
      /"method":"Slow".*"msg":"Invoke Timeout"|"msg":"Invoke Timeout".*"method":"Slow"/,
    );
    expect(runtime.logs().filter((l) => l.msg === 'Invoke Error')).toEqual([]);
    const timeouts = runtime.logs().filter((l) => l.msg === 'Invoke Timeout');
    expect(timeouts.map((l) => [l.method, l.errorType, l.errorMessage, l.err])).toEqual([
      ['Count', 'Sandbox.Timedout', 'Task timed out after 1.00 seconds', undefined],
      ['Slow', 'Sandbox.Timedout', 'Task timed out after 1.00 seconds', undefined],
    ]);
  });

  it('a cancelled stream closes its iterator and gives its slot back', async () => {
    const runtime = await serve({ JUSTFN_CONCURRENCY: '1' });
    const stream = count(runtime, { to: 1000, ms: 50 });
    stream.call.on('error', () => {});
    await new Promise((resolve) => stream.call.once('data', resolve));
    stream.call.cancel();
    await runtime.process.waitForOutput('count closed');
    expect((await runtime.unary('SayHello', { name: 'after' })).value?.message).toBe('hello, after');
  });

  it("a cancelled stream aborts its handler's context.signal, as a cancelled unary call does", async () => {
    const runtime = await serve();
    const stream = serverStream(runtime, 'Listen', { ms: 3000 });
    stream.call.on('error', () => {});
    await new Promise((resolve) => stream.call.once('data', resolve));
    stream.call.cancel();
    // Woken by the cancel, long before its 3 s wait.
    await runtime.process.waitForOutput('listen closed');
    expect(logged(runtime, 'listen woke')).toEqual(['listen woke, aborted: true Runtime.Cancelled']);
    expect(runtime.logs().filter((l) => l.msg === 'Invoke Error')).toEqual([]);
  });

  it('a cancelled stream whose generator runs on holds its slot until the generator ends', async () => {
    const runtime = await serve({ JUSTFN_CONCURRENCY: '1' });
    const stream = serverStream(runtime, 'Listen', { ms: 1000, after: 'deaf' });
    stream.call.on('error', () => {});
    await new Promise((resolve) => stream.call.once('data', resolve));
    stream.call.cancel();
    expect((await runtime.unary('SayHello', { name: 'next' })).value?.message).toBe('hello, next');
    await runtime.process.waitForOutput('"msg":"hello next"');
    // JUSTFN_CONCURRENCY=1: the next call ran only once the cancelled one's generator had ended.
    const order = runtime
      .logs()
      .map((l) => l.msg)
      .filter((msg) => msg === 'listen closed' || msg === 'hello next');
    expect(order).toEqual(['listen closed', 'hello next']);
  });

  it("past its deadline a stream's context.signal aborts, also when read before the generator was returned", async () => {
    const runtime = await serve({ JUSTFN_TIMEOUT: '1' });
    const early = serverStream(runtime, 'Listen', { ms: 4000, after: 'early' });
    // One that throws as its signal aborts, which can come a moment before the stream's own deadline: still
    // the deadline's answer, not an INTERNAL error.
    const throws = serverStream(runtime, 'Listen', { ms: 4000, after: 'throw' });
    for (const stream of [early, throws]) stream.call.on('error', () => {});
    const ended = await Promise.all([early.ended, throws.ended]);
    expect(ended.map((s) => s.code)).toEqual([grpc.status.DEADLINE_EXCEEDED, grpc.status.DEADLINE_EXCEEDED]);
    const timeouts = () => runtime.logs().filter((l) => l.msg === 'Invoke Timeout');
    // Their lines can trail the calls' end.
    await expect
      .poll(() => logged(runtime, 'listen closed').length + timeouts().length, { timeout: 10_000 })
      .toBe(4);
    expect(logged(runtime, 'listen woke')).toEqual(['listen woke, aborted: true Sandbox.Timedout']);
    expect(logged(runtime, 'listen closed')).toHaveLength(2);
    expect(timeouts().map((l) => l.errorType)).toEqual(['Sandbox.Timedout', 'Sandbox.Timedout']);
  });

  it("a rejection nothing handles from a stream's work fails the stream at once, and closes its iterator", async () => {
    const runtime = await serve({ JUSTFN_EXPOSE_ERRORS: '1' });
    const stream = serverStream(runtime, 'Listen', { ms: 300, after: 'reject' });
    stream.call.on('error', () => {});
    const ended = await stream.ended;
    expect([ended.code, ended.details, stream.got]).toEqual([
      grpc.status.INTERNAL,
      'Runtime.UnhandledPromiseRejection: Error: rejected while streaming',
      [1],
    ]);
    await runtime.process.waitForOutput('listen closed');
    const failed = runtime.logs().find((l) => l.msg === 'Invoke Error');
    expect([failed?.method, failed?.errorType]).toEqual(['Listen', 'Runtime.UnhandledPromiseRejection']);
    expect((await runtime.unary('SayHello', { name: 'after' })).value?.message).toBe('hello, after');
  });

  it('failures after the handler returned are logged and counted as errors', async () => {
    const runtime = await serve();
    const nothing = await runtime.unary('Fail', { how: 'nothing' });
    expect([nothing.error?.code, nothing.error?.details]).toEqual([
      grpc.status.INTERNAL,
      'the handler returned no message',
    ]);
    const stream = count(runtime, { to: 2, after: 'throw' });
    stream.call.on('error', () => {});
    expect((await stream.ended).code).toBe(grpc.status.INTERNAL);
    const errors = runtime.logs().filter((l) => l.msg === 'Invoke Error');
    expect(errors.map((l) => (l.err as { message: string }).message)).toEqual([
      'the handler returned null, not a message',
      'failed after the last message',
    ]);
  });

  it('an answer protobuf cannot encode is INTERNAL with the request id, and logged', async () => {
    const runtime = await serve();
    const unary = await runtime.unary('Fail', { how: 'unencodable' });
    expect([unary.error?.code, unary.error?.details]).toEqual([grpc.status.INTERNAL, 'Internal error']);
    expect(unary.error?.metadata.get('x-request-id')).toHaveLength(1);
    // Paced, so the fixture logs when its iterator is closed: the stream's generator must be closed too.
    const stream = count(runtime, { to: 3, ms: 1, after: 'unencodable' });
    const received: unknown[] = [];
    stream.call.on('data', (reply) => received.push(reply.n));
    stream.call.on('error', () => {});
    const ended = await stream.ended;
    expect([ended.code, received]).toEqual([grpc.status.INTERNAL, [1]]);
    await runtime.process.waitForOutput('count closed');
    const errors = runtime.logs().filter((l) => l.msg === 'Invoke Error');
    expect(errors.map((l) => [l.method, (l.err as { message: string }).message])).toEqual([
      [
        'Fail',
        expect.stringMatching(/^Fail: the handler's answer is not a valid response message \(TypeError: /),
      ],
      [
        'Count',
        expect.stringMatching(/^Count: the handler's answer is not a valid response message \(TypeError: /),
      ],
    ]);
  });

  it('one function can serve every method, with the call metadata', async () => {
    const runtime = await serve({ _HANDLER: 'index.oneFunction' });
    const metadata = new grpc.Metadata();
    metadata.set('x-caller', 'tests');
    const { value } = await runtime.unary('SayHello', { name: 'bo' }, {}, metadata);
    expect(value?.message).toBe('one function: bo, from tests');
    expect((await runtime.unary('Slow', { ms: 1 })).error?.code).toBe(grpc.status.UNIMPLEMENTED);
    // A server-streaming method answered with one message instead of a stream: ended and logged, not hung.
    const stream = count(runtime, { to: 1 });
    stream.call.on('error', () => {});
    const ended = await stream.ended;
    expect([ended.code, ended.details, ended.metadata.get('x-request-id')]).toEqual([
      grpc.status.INTERNAL,
      'the handler returned no stream',
      [expect.any(String)],
    ]);
    // The log line can trail the call's end.
    await runtime.process.waitForOutput(
      /"method":"Count".*"msg":"Invoke Error"|"msg":"Invoke Error".*"method":"Count"/,
    );
    const logged = runtime.logs().find((l) => l.msg === 'Invoke Error' && l.method === 'Count');
    expect((logged?.err as { message?: string } | undefined)?.message).toMatch(
      /^the handler returned object, not the messages/,
    );
  });
});

describe('gRPC mode: health and drain', () => {
  it('grpc.health.v1 answers SERVING for "" and the service, NOT_FOUND for others', async () => {
    const runtime = await serve();
    expect(await healthCheck(runtime.port)).toBe('SERVING');
    expect(await healthCheck(runtime.port, 'greet.v1.Greeter')).toBe('SERVING');
    expect(await healthCheck(runtime.port, 'other.Service')).toBe(grpc.status.NOT_FOUND);
  });

  it('SIGTERM with calls in flight: they complete, health turns NOT_SERVING, exit 0', async () => {
    const runtime = await startGrpcRuntime({ JUSTFN_DRAIN_TIMEOUT: '20' });
    const watcher = watchHealth(runtime.port);
    const { statuses } = watcher;
    await expect.poll(() => statuses).toEqual([1]); // SERVING
    const calls = Array.from({ length: 10 }, () => runtime.unary('Slow', { ms: 800 }));
    await slowStarted(runtime, 800, 10);
    runtime.process.child.kill('SIGTERM');
    await runtime.process.waitForOutput('draining: finishing accepted requests');
    await expect.poll(() => statuses).toEqual([1, 2]); // then NOT_SERVING, told to the watcher
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.value?.message ?? `${a.error?.code} ${a.error?.details}`)).toEqual(
      Array(10).fill('slept 800'),
    );
    expect(await runtime.process.exited).toBe(0);
    runtime.client.close();
    watcher.close();
  });
});

describe('gRPC mode: past the drain timeout', () => {
  it('a call cut off while it ran is ABORTED (not to be retried blindly), one that never ran UNAVAILABLE', async () => {
    const metricsPort = await freePort();
    const runtime = await serve({
      JUSTFN_DRAIN_TIMEOUT: '1',
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
    // Runs for longer than the test may: still running whenever the drain timeout passes.
    const running = runtime.unary('Slow', { ms: 3_600_000 });
    await slowStarted(runtime, 3_600_000);
    const queued = runtime.unary('SayHello', { name: 'queued' });
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_queue_depth')).toBe(1);
    runtime.process.child.kill('SIGTERM');
    const answers = await Promise.all([running, queued]);
    expect(answers.map((a) => [a.error?.code, a.error?.details])).toEqual([
      [grpc.status.ABORTED, 'the server shut down while the call was running'],
      [grpc.status.UNAVAILABLE, 'the server is shutting down'],
    ]);
    expect(await runtime.process.exited).toBe(0);
  });
});

describe('gRPC mode: past the drain timeout, a stream', () => {
  it('still running is ABORTED too: its iterator is closed, and the cut is logged', async () => {
    const runtime = await serve({ JUSTFN_DRAIN_TIMEOUT: '1' });
    const stream = serverStream(runtime, 'Count', { to: 50, ms: 100 });
    stream.call.on('error', () => {});
    const unary = runtime.unary('Slow', { ms: 3000 });
    await new Promise((resolve) => stream.call.once('data', resolve));
    runtime.process.child.kill('SIGTERM');
    const [ended, answered] = await Promise.all([stream.ended, unary]);
    expect([ended.code, ended.details, answered.error?.code]).toEqual([
      grpc.status.ABORTED,
      'the server shut down while the call was running',
      grpc.status.ABORTED,
    ]);
    expect(await runtime.process.exited).toBe(0);
    expect(stream.got.length).toBeLessThan(50);
    const lines = runtime.logs();
    expect(lines.filter((l) => l.msg === 'count closed')).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'Invoke Error' && l.method === 'Count')).toMatchObject({
      errorType: 'Runtime.Draining',
      errorMessage: 'The drain timeout passed',
    });
  });
});

describe('gRPC mode: liveness', () => {
  it('every slot held past its deadline for JUSTFN_TIMEOUT again: liveness NOT_SERVING, SERVING once it returns', async () => {
    const runtime = await serve({ JUSTFN_TIMEOUT: '2', JUSTFN_CONCURRENCY: '1' });
    const watcher = watchHealth(runtime.port, 'liveness');
    await expect.poll(() => watcher.statuses).toEqual([1]);
    // Answered DEADLINE_EXCEEDED at 2 s; deaf to its signal, the handler holds the only slot until 8 s.
    const { error } = await runtime.unary('Slow', { ms: 8000, ignore_signal: true });
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(await healthCheck(runtime.port)).toBe('NOT_SERVING');
    expect(await healthCheck(runtime.port, 'liveness')).toBe('SERVING');
    await expect
      .poll(() => healthCheck(runtime.port, 'liveness'), { timeout: 6_000, interval: 100 })
      .toBe('NOT_SERVING');
    await expect
      .poll(() => healthCheck(runtime.port, 'liveness'), { timeout: 10_000, interval: 100 })
      .toBe('SERVING');
    expect(await healthCheck(runtime.port)).toBe('SERVING');
    // A Watch of it was told each change, as it came: NOT_SERVING, then SERVING.
    await expect.poll(() => watcher.statuses).toEqual([1, 2, 1]);
    watcher.close();
  }, 20_000);
});

describe('gRPC mode: a stream cut at its deadline whose handler runs on', () => {
  it('holds its slot as an overrun: NOT_SERVING, not live past the timeout again, SERVING once it closes', async () => {
    const runtime = await serve({ JUSTFN_TIMEOUT: '2', JUSTFN_CONCURRENCY: '1' });
    // Yields 1, then waits 8 s deaf to its signal: cut at 2 s, its generator closes only at 8 s.
    const { call, got, ended } = serverStream(runtime, 'Listen', { ms: 8000, after: 'deaf' });
    call.on('error', () => {});
    expect((await ended).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(got).toEqual([1]);
    await expect.poll(() => healthCheck(runtime.port), { timeout: 2_000, interval: 50 }).toBe('NOT_SERVING');
    await expect
      .poll(() => healthCheck(runtime.port, 'liveness'), { timeout: 6_000, interval: 100 })
      .toBe('NOT_SERVING');
    await expect.poll(() => healthCheck(runtime.port), { timeout: 10_000, interval: 100 }).toBe('SERVING');
    await runtime.process.waitForOutput('listen closed');
  }, 20_000);

  it("a cancel in the budget's last tenth is the deadline's: a timeout, logged as one (a client cancels at its own deadline)", async () => {
    const runtime = await serve();
    const { call, ended } = serverStream(
      runtime,
      'Listen',
      { ms: 3000, after: 'deaf' },
      { deadline: Date.now() + 1000 },
    );
    call.on('error', () => {});
    setTimeout(() => call.cancel(), 950);
    expect((await ended).code).toBe(grpc.status.CANCELLED);
    await expect
      .poll(() => runtime.logs().find((l) => l.msg === 'Invoke Timeout'), { timeout: 5_000 })
      .toMatchObject({ method: 'Listen', errorType: 'Sandbox.Timedout' });
  });

  it('one that heeds its signal but closes past the grace of 100 ms is an overrun until it has closed', async () => {
    const runtime = await serve({ JUSTFN_TIMEOUT: '1', JUSTFN_CONCURRENCY: '1' });
    const watcher = watchHealth(runtime.port);
    await expect.poll(() => watcher.statuses).toEqual([1]);
    const { call, ended } = serverStream(runtime, 'Listen', { ms: 5000, after: 'slowclose' });
    call.on('error', () => {});
    expect((await ended).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await runtime.process.waitForOutput('listen closed');
    // NOT_SERVING from 100 ms past the deadline until its `finally` ended, 400 ms after it.
    await expect.poll(() => watcher.statuses).toEqual([1, 2, 1]);
    watcher.close();
  });

  it("one its caller cancelled early, deaf to its signal: an overrun from its deadline, as a unary call's", async () => {
    const runtime = await serve({ JUSTFN_TIMEOUT: '2', JUSTFN_CONCURRENCY: '1' });
    const { call, got, ended } = serverStream(runtime, 'Listen', { ms: 6000, after: 'deaf' });
    call.on('error', () => {});
    await expect.poll(() => got).toEqual([1]); // the stream runs, its generator now deaf for 6 s
    call.cancel();
    expect((await ended).code).toBe(grpc.status.CANCELLED);
    await expect.poll(() => healthCheck(runtime.port), { timeout: 4_000, interval: 100 }).toBe('NOT_SERVING');
    await expect.poll(() => healthCheck(runtime.port), { timeout: 8_000, interval: 100 }).toBe('SERVING');
  }, 20_000);

  it('one that heeds its signal closes at once: SERVING throughout', async () => {
    const runtime = await serve({ JUSTFN_TIMEOUT: '1', JUSTFN_CONCURRENCY: '1' });
    const { call, ended } = serverStream(runtime, 'Listen', { ms: 8000 });
    call.on('error', () => {});
    expect((await ended).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await runtime.process.waitForOutput('listen closed');
    expect(await healthCheck(runtime.port)).toBe('SERVING');
  });
});

describe('gRPC mode: readiness follows the resources', () => {
  it('NOT_SERVING while a resource is down, SERVING once it is up, without a restart', async () => {
    const { createServer } = await import('node:http');
    const upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as import('node:net').AddressInfo).port;
    await new Promise((resolve) => upstream.close(resolve));
    const runtime = await startGrpcRuntime({ UPSTREAM_PORT: String(port) }, `${greeterDir}-upstream`);
    started.push(runtime);
    expect(await healthCheck(runtime.port)).toBe('NOT_SERVING');
    // What the generated liveness probe asks: alive, so not restarted for its dependency's outage.
    expect(await healthCheck(runtime.port, 'liveness')).toBe('SERVING');
    upstream.listen(port, '127.0.0.1');
    await expect.poll(() => healthCheck(runtime.port), { timeout: 20_000, interval: 100 }).toBe('SERVING');
    expect((await runtime.unary('SayHello', { name: 'up' })).value?.message).toBe('hello, up');
    upstream.close();
  });
});
