import { beforeAll, describe, expect, it, vi } from 'vitest';
import { LambdaContext } from '../../runtime/context.js';
import { type LoadedHandler, loadHandler } from '../../runtime/handler-loader.js';
import { endDrained, invoke, type Outcome } from '../../runtime/invoke.js';
import { awslambda } from '../../runtime/streaming.js';
import { memorySink } from '../helpers/memory-sink.js';
import { nativeImport } from '../helpers/native-import.js';
import { handlers } from '../helpers/process.js';

const functionInfo = {
  functionName: 'fn',
  functionVersion: '$LATEST',
  memoryLimitInMB: '128',
  logGroupName: '/aws/lambda/fn',
  logStreamName: 'stream',
};

const contextFor = (deadlineInMs = 30_000) =>
  new LambdaContext(
    { requestId: 'req-1', deadlineMs: Date.now() + deadlineInMs, invokedFunctionArn: 'arn:fn' },
    functionInfo,
    {},
  );

const kind = (name: string): Promise<LoadedHandler> =>
  loadHandler(`kinds/index.${name}`, { taskRoot: handlers, importModule: nativeImport });

const run = async (name: string, event: unknown = {}, options = {}): Promise<Outcome> =>
  invoke(await kind(name), event, contextFor(), options);

beforeAll(() => {
  Object.assign(globalThis, { awslambda });
});

describe('invoke: every handler kind settles once', () => {
  it.each([
    ['echo', { a: 1 }, { a: 1 }],
    ['syncValue', { n: 2 }, { sync: true, got: 2 }],
    ['promiseReturning', { n: 3 }, { promise: true, got: 3 }],
    ['callback', {}, { callback: true }],
    ['succeed', {}, { succeeded: true }],
    ['firstWins', {}, 'first'],
  ])('%s', async (name, event, value) => {
    expect(await run(name, event)).toEqual({ ok: true, value });
  });

  it.each([
    ['throwError', { errorType: 'RangeError', errorMessage: 'out of range' }],
    ['throwString', { errorType: 'string', errorMessage: 'plain string', trace: [] }],
    ['throwUndefined', { errorType: 'undefined', errorMessage: 'undefined', trace: [] }],
    ['reject', { errorType: 'Error', errorMessage: 'rejected' }],
    ['callbackError', { errorType: 'TypeError', errorMessage: 'callback failed' }],
    ['fail', { errorType: 'string', errorMessage: 'handled', trace: [] }],
  ])('%s gives the Node error payload', async (name, error) => {
    const outcome = await run(name);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject(error);
    if (outcome.error.trace.length > 0) expect(outcome.error.trace[0]).toMatch(/^(Range|Type)?Error: /);
  });

  it('a stack trace is the error stack split into lines', async () => {
    const outcome = await run('throwError');
    expect(outcome.ok === false && outcome.error.trace[1]).toMatch(/^\s+at /);
  });
});

describe('invoke: deadline (HTTP mode enforces it)', () => {
  it('answers a timeout at the deadline and aborts context.signal', async () => {
    const context = contextFor(1_000);
    const outcome = await invoke(await kind('sleep'), { ms: 5_000 }, context, { enforceDeadline: true });
    expect(outcome).toMatchObject({
      ok: false,
      timedOut: true,
      error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds' },
    });
    expect(context.signal.aborted).toBe(true);
  });

  it('a deadline further away than a timer can wait (24.8 days) does not abort context.signal at once', async () => {
    const context = contextFor(30 * 24 * 3600 * 1000);
    const signal = context.signal;
    // Node runs a timer past its limit after 1 ms; one due in 20 ms, set after it, fires after it however
    // slow the machine.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signal.aborted).toBe(false);
  });

  it('a handler that answers because its signal aborted at the deadline has still timed out', async () => {
    // context.signal's own timer and the deadline's are due at the same instant. Under fake timers the
    // signal's, made first, fires first, and the handler answers before the deadline's turn comes.
    const handler = await kind('untilAborted');
    vi.useFakeTimers();
    try {
      const outcome = invoke(handler, {}, contextFor(120), { enforceDeadline: true });
      await vi.advanceTimersByTimeAsync(200);
      expect(await outcome).toMatchObject({ ok: false, timedOut: true });
    } finally {
      vi.useRealTimers();
    }
  });

  it('without enforcement the handler runs to its end', async () => {
    const context = contextFor(20);
    expect(await invoke(await kind('sleep'), { ms: 60 }, context)).toEqual({
      ok: true,
      value: { slept: 60, aborted: true },
    });
  });
});

describe('invoke: streaming', () => {
  it('sends the HttpResponseStream prelude, then the chunks', async () => {
    const { sink, seen } = memorySink();
    expect(await run('streamPrelude', {}, { openStream: () => sink })).toEqual({
      ok: true,
      value: undefined,
      streamed: true,
    });
    expect(seen.head).toEqual({
      contentType: 'application/vnd.awslambda.http-integration-response',
      prelude: { statusCode: 201, headers: { 'x-custom': 'yes' }, cookies: ['a=1'] },
    });
    expect(seen.body()).toBe('hello world');
    expect(seen.ended).toBe(true);
  });

  it('keeps the content type and JSON-encodes non-binary chunks', async () => {
    const { sink, seen } = memorySink();
    await run('streamPlain', {}, { openStream: () => sink });
    expect(seen.head).toEqual({ contentType: 'text/plain' });
    expect(seen.body()).toBe('chunk1,{"json":true}');
  });

  it('sends the prelude when end() comes without write() (AWS client bug #97)', async () => {
    const { sink, seen } = memorySink();
    await run('streamPreludeNoWrite', {}, { openStream: () => sink });
    expect(seen.head?.prelude).toEqual({ statusCode: 204, headers: { 'x-empty': '1' } });
    expect(seen.ended).toBe(true);
  });

  it('ends an empty piped stream instead of hanging (AWS client bug #95)', async () => {
    const { sink, seen } = memorySink();
    expect((await run('streamEmpty', {}, { openStream: () => sink })).ok).toBe(true);
    expect([seen.head, seen.body(), seen.ended]).toEqual([
      { contentType: 'application/octet-stream' },
      '',
      true,
    ]);
  });

  it('reports an error after the first byte in-band', async () => {
    const { sink, seen } = memorySink();
    const outcome = await run('streamError', {}, { openStream: () => sink });
    expect(outcome).toMatchObject({
      ok: false,
      streamed: true,
      error: { errorMessage: 'mid-stream failure' },
    });
    expect(seen.failure).toMatchObject({ errorType: 'Error', errorMessage: 'mid-stream failure' });
    expect(seen.body()).toBe('partial');
  });

  it.each([
    ['at the deadline', 150, false],
    ['when the event loop runs dry (before the deadline)', 60_000, true],
  ])('a stream still open %s is an error, reported in-band', async (_when, deadlineInMs, drained) => {
    const { sink, seen } = memorySink();
    const handler = await kind('streamNotEnded');
    const context = contextFor(deadlineInMs);
    const running = invoke(handler, {}, context, { openStream: () => sink });
    if (drained) {
      await new Promise((resolve) => setImmediate(resolve));
      endDrained(handler, context);
    }
    expect(await running).toMatchObject({
      ok: false,
      streamed: true,
      error: {
        errorType: 'Runtime.InvalidStreamingOperation',
        errorMessage: 'Response stream is not finished.',
      },
    });
    expect(seen.failure?.errorType).toBe('Runtime.InvalidStreamingOperation');
  });

  it('waits for a stream the handler left running, as AWS does', async () => {
    const { sink, seen } = memorySink();
    expect(await run('streamEndsLater', {}, { openStream: () => sink })).toMatchObject({ ok: true });
    expect([seen.body(), seen.ended]).toEqual(['alater', true]);
  });

  it('responseStream.destroy(error) fails the invocation, not the process', async () => {
    const { sink } = memorySink();
    expect(await run('streamDestroyed', {}, { openStream: () => sink })).toMatchObject({
      ok: false,
      error: { errorType: 'TypeError', errorMessage: 'the source broke' },
    });
  });

  it('responseStream.destroy() without an error ends the invocation at once, not at the deadline', async () => {
    const { sink } = memorySink();
    expect(await run('streamDestroyedQuietly', {}, { openStream: () => sink })).toMatchObject({
      ok: false,
      error: {
        errorType: 'Runtime.InvalidStreamingOperation',
        errorMessage: 'Response stream was destroyed before it ended.',
      },
    });
  });

  it('a handler that fails before its first byte: a plain error, and what it writes later goes nowhere', async () => {
    const { sink, seen } = memorySink();
    // The fixture's late end() calls this back when it is done: refused (the stream was destroyed), or
    // finished, its bytes in the sink.
    let lateEndSettled = () => {};
    const settled = new Promise<void>((resolve) => {
      lateEndSettled = resolve;
    });
    const outcome = await run('streamFailsThenWrites', { lateEndSettled }, { openStream: () => sink });
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'RangeError' } });
    expect(outcome.ok || outcome.streamed).toBeFalsy();
    await settled;
    expect([seen.head, seen.body(), seen.ended]).toEqual([undefined, '', false]);
  });

  it('a value returned by a streaming handler is ignored, with a warning', async () => {
    const { sink, seen } = memorySink();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(await run('streamReturnsValue', {}, { openStream: () => sink })).toMatchObject({ ok: true });
      expect(warn).toHaveBeenCalledWith('Streaming handlers ignore return values.');
    } finally {
      warn.mockRestore();
    }
    expect(seen.body()).toBe('body');
  });

  it('a streaming handler must be async', async () => {
    const { sink } = memorySink();
    const outcome = await run('streamSync', {}, { openStream: () => sink });
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        errorType: 'Runtime.MalformedStreamingHandler',
        errorMessage: 'Streaming does not support non-async handlers.',
      },
    });
  });
});

describe('context methods are its own closures, as on AWS', () => {
  it('getRemainingTimeInMillis works destructured and on a copy of the context', async () => {
    expect(await run('detachedRemaining')).toMatchObject({
      ok: true,
      value: { left: true, copyLeft: true, awsRequestId: 'req-1' },
    });
  });

  it.each([
    ['detachedDone', { ok: true, value: { via: 'detached context.done' } }],
    ['detachedSucceed', { ok: true, value: { via: 'then(context.succeed)' } }],
    ['detachedFail', { ok: false, error: { errorType: 'TypeError', errorMessage: 'via context.fail' } }],
  ])('%s settles the invocation', async (name, expected) => {
    expect(await run(name)).toMatchObject(expected);
  });

  it('a sync handler that returns, then calls context.succeed: null, and a warning at the late call', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(await run('succeedLater')).toEqual({ ok: true, value: undefined });
      await vi.waitFor(() => expect(warn).toHaveBeenCalledTimes(1));
      expect(String(warn.mock.calls[0]![0])).toMatch(
        /called after the handler returned.*Make the handler async/,
      );
    } finally {
      warn.mockRestore();
    }
  });
});

describe('context', () => {
  it('carries every Lambda field, memory as a string', async () => {
    const outcome = await invoke(await kind('contextFields'), {}, contextFor(3_600_000));
    expect(outcome.ok && outcome.value).toMatchObject({
      awsRequestId: 'req-1',
      invokedFunctionArn: 'arn:fn',
      functionName: 'fn',
      functionVersion: '$LATEST',
      memoryLimitInMB: '128',
      logGroupName: '/aws/lambda/fn',
      logStreamName: 'stream',
      callbackWaitsForEmptyEventLoop: true,
      hasSignal: true,
    });
    // An hour in milliseconds, less the moments the call took: ten minutes of margin, where seconds (or a
    // deadline read as a time of day) are far off.
    const remaining = outcome.ok && (outcome.value as { remaining: number }).remaining;
    expect(remaining).toBeGreaterThan(3_000_000);
    expect(remaining).toBeLessThanOrEqual(3_600_000);
  });
});
