import { request } from 'undici';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { openGate } from '../helpers/gate.js';
import { type HttpRuntime, startHttpRuntime } from '../helpers/http-runtime.js';
import { scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/postgres.js';
import { reliabilityFixtures } from './soak.js';

// Issue 6, point 3: a handler that throws, rejects, never settles (with the event loop busy or not), calls process.exit, blocks the event
// loop past its deadline, or leaves an unhandled rejection after answering — in Lambda mode (through
// `justfn emulate`, which plays the platform's part: deadline, restart) and in HTTP mode. Each row
// asserts what the caller gets, then that the next invocation is answered (and by which process).

const CANARY = 's3cr3t-canary';
const stack = /\n\s+at |\.m?[cj]s:\d+/;

describe('handler faults in Lambda mode (justfn emulate, 1 s timeout)', async () => {
  const lambda = await startTestEmulator('faults/index.dispatch', {
    taskRoot: reliabilityFixtures,
    timeout: 1,
  });
  afterAll(() => lambda.close());
  const invoke = async (fault: string) => {
    const reply = await lambda.invoke(JSON.stringify({ fault, ms: 3000, n: 1 }));
    return { ...reply, json: JSON.parse(reply.text) as Record<string, unknown> };
  };
  const next = async () => {
    const reply = await invoke('count');
    expect([reply.status, reply.headers['x-amz-function-error'], reply.json.n]).toEqual([200, undefined, 1]);
    return reply.json.pid;
  };

  it.each([
    ['throws', 'TypeError', /^the handler threw/, 'same'],
    ['rejects', 'RangeError', /^the handler rejected$/, 'same'],
    ['throwsCyclic', 'Error', /^an error among its own errors$/, 'same'],
    ['throwsHostile', 'handled', /there was a problem while retrieving/, 'same'],
    // As AWS's v3 client: the event loop runs dry, and the (async) handler fails there, at once.
    ['neverSettles', 'Runtime.NodeJsExit', /a Promise that was never settled/, 'same'],
    ['neverSettlesBusy', 'Sandbox.Timedout', /Task timed out after 1\.00 seconds$/, 'new'],
    ['blocks', 'Sandbox.Timedout', /Task timed out after 1\.00 seconds$/, 'new'],
    ['exits', 'Runtime.ExitError', /Runtime exited with error: exit status 7$/, 'new'],
  ] as const)(
    '%s: answered as Lambda does (%s), then the %s runtime answers',
    async (fault, type, message, runtime) => {
      const before = await next();
      const reply = await invoke(fault);
      expect(reply.status).toBe(200);
      expect(reply.headers['x-amz-function-error']).toBe('Unhandled');
      expect(reply.json).toMatchObject({ errorType: type, errorMessage: expect.stringMatching(message) });
      const after = await next();
      if (runtime === 'same') expect(after).toBe(before);
      else expect(after).not.toBe(before);
    },
  );

  it('rejectsAfterAnswer: the answer stands; the runtime logs it, exits 128 and the next one answers', async () => {
    const before = await next();
    const reply = await invoke('rejectsAfterAnswer');
    expect([reply.status, reply.headers['x-amz-function-error'], reply.json]).toEqual([
      200,
      undefined,
      { statusCode: 200, body: 'answered' },
    ]);
    const id = /START RequestId: (\S+)/.exec(lambda.reports.filter((l) => l.startsWith('START')).at(-1)!)![1];
    await lambda.waitForOutput(
      new RegExp(
        `\\t${id}\\tERROR\\tUnhandled Promise Rejection \\t\\{"errorType":"Runtime.UnhandledPromiseRejection"`,
      ),
    );
    // Once it has exited: an invocation handed to its parked /next in its last moment would be its
    // Runtime.ExitError, as on Lambda.
    await expect.poll(() => lambda.emulator.runtimePid()).toBeUndefined();
    expect(await next()).not.toBe(before);
  });
});

describe('handler faults in HTTP mode (JUSTFN_TIMEOUT=1)', async () => {
  const runtimes: HttpRuntime[] = [];
  afterAll(() => Promise.all(runtimes.map((r) => r.stop())));
  const serve = async (env: Record<string, string> = {}) => {
    const runtime = await startHttpRuntime('faults/index.dispatch', {
      LAMBDA_TASK_ROOT: reliabilityFixtures,
      JUSTFN_TIMEOUT: '1',
      ...env,
    });
    runtimes.push(runtime);
    return runtime;
  };
  const runtime = await serve();
  const get = async (target: HttpRuntime, fault: string, query = '') => {
    const reply = await request(`${target.url}/?fault=${fault}&ms=3000&n=1${query}`);
    return { status: reply.statusCode, id: reply.headers['x-request-id'], text: await reply.body.text() };
  };
  const next = async (target: HttpRuntime) => {
    const reply = await get(target, 'count');
    expect([reply.status, JSON.parse(reply.text).n]).toEqual([200, 1]);
  };

  it.each([
    ['throws', 500, '{"message":"Internal Server Error"}', 'Invoke Error', 'TypeError'],
    ['rejects', 500, '{"message":"Internal Server Error"}', 'Invoke Error', 'RangeError'],
    ['throwsCyclic', 500, '{"message":"Internal Server Error"}', 'Invoke Error', 'Error'],
    ['throwsHostile', 500, '{"message":"Internal Server Error"}', 'Invoke Error', 'handled'],
    ['neverSettles', 504, '{"message":"Endpoint request timed out"}', 'Invoke Timeout', 'Sandbox.Timedout'],
    ['blocks', 504, '{"message":"Endpoint request timed out"}', 'Invoke Timeout', 'Sandbox.Timedout'],
  ] as const)(
    '%s: %i with a bare body; the log has the error under the request id',
    async (fault, status, body, msg, type) => {
      const reply = await get(runtime, fault);
      expect([reply.status, reply.text]).toEqual([status, body]);
      const logged = await runtime.waitForLog((l) => l.requestId === reply.id && l.msg === msg);
      expect(logged.errorType).toBe(type);
      await next(runtime);
      expect(runtime.process.child.exitCode).toBeNull();
    },
  );

  it('the log has what the caller was not told: the message, the stack, the secret in it', () => {
    const thrown = runtime.logs().find((l) => l.msg === 'Invoke Error' && l.errorType === 'TypeError');
    const err = thrown?.err as { message: string; stack: string };
    expect(err.message).toContain(CANARY);
    expect(err.stack).toMatch(stack);
  });

  it('rejectsAfterAnswer: 200 stands, the rejection is logged under its request id, serving goes on', async () => {
    const reply = await get(runtime, 'rejectsAfterAnswer');
    expect([reply.status, reply.text]).toEqual([200, 'answered']);
    const logged = await runtime.waitForLog((l) => l.msg === 'Unhandled Promise Rejection');
    expect(logged).toMatchObject({ level: 'error', requestId: reply.id });
    expect((logged.err as { message: string }).message).toBe('rejected after the answer');
    await next(runtime);
  });

  it('an uncaught exception: its invocation fails at once, its line names it, the drain names none', async () => {
    // Deadlines far away: an answer that waited for one would be a 504 much later.
    const own = await serve({ JUSTFN_TIMEOUT: '60', JUSTFN_DRAIN_TIMEOUT: '60' });
    const reply = await get(own, 'throwsUncaught');
    expect([reply.status, reply.text]).toEqual([500, '{"message":"Internal Server Error"}']);
    const failed = own.logs().find((l) => l.msg === 'Invoke Error');
    expect(failed).toMatchObject({
      requestId: reply.id,
      errorType: 'Error',
      errorMessage: 'thrown from a timer',
    });
    // Its event loop empties once the server is closed and the handler waits on nothing: still exit 1.
    expect(await own.process.exited).toBe(1);
    const fatal = own.logs().find((l) => l.msg === 'Uncaught Exception: draining, then exiting');
    expect(fatal?.requestId).toBe(reply.id);
    const drain = own.logs().filter((l) => l.msg === 'draining: finishing accepted requests');
    expect(drain.map((l) => l.requestId)).toEqual([undefined]);
  });

  it('an uncaught exception frees its slot: what waited behind it runs during the drain', async () => {
    const metricsPort = await freePort();
    const own = await serve({
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_TIMEOUT: '60',
      JUSTFN_DRAIN_TIMEOUT: '60',
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
    const gate = await openGate();
    onTestFinished(gate.close);
    // The first in its slot, the second queued behind it: only then does the first throw.
    const crashing = get(own, 'throwsUncaught', `&gate=${encodeURIComponent(gate.url)}`);
    await gate.reached;
    const waiting = get(own, 'count');
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_queue_depth')).toBe(1);
    gate.open();
    const [crashed, served] = await Promise.all([crashing, waiting]);
    expect(crashed.status).toBe(500);
    expect([served.status, JSON.parse(served.text).n]).toEqual([200, 1]);
    expect(await own.process.exited).toBe(1);
  });

  it('an uncaught exception during a drain fails its invocation; the drain goes on for the others', async () => {
    const own = await serve({ JUSTFN_TIMEOUT: '60', JUSTFN_DRAIN_TIMEOUT: '60' });
    const crashing = get(own, 'throwsUncaughtOnStop');
    const finishing = get(own, 'countsAfterStop');
    await expect.poll(() => own.logs().filter((l) => l.msg === 'started').length).toBe(2);
    own.process.child.kill('SIGTERM');
    const [crashed, finished] = await Promise.all([crashing, finishing]);
    expect(crashed.status).toBe(500);
    expect([finished.status, JSON.parse(finished.text).n]).toEqual([200, 1]);
    // A crash during the drain: still a failure for the process.
    expect(await own.process.exited).toBe(1);
    expect(own.logs().find((l) => l.msg === 'Invoke Error')).toMatchObject({
      requestId: crashed.id,
      errorMessage: 'thrown during the drain',
    });
    const messages = own.logs().map((l) => l.msg);
    expect(messages).not.toContain('second signal: exiting now');
    expect(messages).toContain('Uncaught Exception: the drain goes on, then exits 1');
    expect(messages.filter((msg) => String(msg).startsWith('draining'))).toEqual([
      'draining: finishing accepted requests',
    ]);
  });

  it("SIGTERM during an uncaught exception's drain is the first signal, not a second: the drain goes on", async () => {
    const own = await serve({ JUSTFN_TIMEOUT: '60', JUSTFN_DRAIN_TIMEOUT: '60' });
    const finishing = get(own, 'countsAfterStop');
    await own.waitForLog((l) => l.msg === 'started');
    expect((await get(own, 'throwsUncaught')).status).toBe(500);
    own.process.child.kill('SIGTERM');
    expect((await finishing).status).toBe(200);
    expect(await own.process.exited).toBe(1);
    expect(own.logs().map((l) => l.msg)).not.toContain('second signal: exiting now');
  });

  it('a drain after SIGTERM exits 0 whatever process.exitCode a handler left', async () => {
    const own = await serve();
    expect((await get(own, 'setsExitCode')).status).toBe(200);
    own.process.child.kill('SIGTERM');
    expect(await own.process.exited).toBe(0);
  });

  it('a rejection nothing handles fails its invocation at once; the server goes on', async () => {
    const own = await serve({ JUSTFN_TIMEOUT: '60', JUSTFN_EXPOSE_ERRORS: '1' });
    const reply = await get(own, 'rejectsWhileRunning');
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.text)).toMatchObject({
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'Error: rejected while running',
    });
    const logged = await own.waitForLog((l) => l.msg === 'Invoke Error');
    expect([logged.requestId, logged.errorType]).toEqual([reply.id, 'Runtime.UnhandledPromiseRejection']);
    await next(own);
  });

  it('exits: process.exit ends the process with its code; what it had accepted is answered 500', async () => {
    const metricsPort = await freePort();
    // A deadline the test never reaches: the request in flight can only be answered for the exit.
    const own = await serve({ JUSTFN_TIMEOUT: '3600', JUSTFN_METRICS_PORT: String(metricsPort) });
    const waiting = get(own, 'neverSettles');
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_invocations_in_flight')).toBe(1);
    const [exiting, other] = await Promise.all([get(own, 'exits'), waiting]);
    for (const reply of [exiting, other]) {
      expect([reply.status, reply.text]).toEqual([500, '{"message":"Internal Server Error"}']);
    }
    expect(await own.process.exited).toBe(7);
    const fatal = own.logs().find((l) => l.level === 'fatal');
    expect(fatal?.msg).toBe('Runtime exited with error: exit status 7: answering what was accepted');
    expect(
      own.logs().filter((l) => l.msg === 'Invoke Error' && l.errorType === 'Runtime.ExitError'),
    ).toHaveLength(2);
  });
});
