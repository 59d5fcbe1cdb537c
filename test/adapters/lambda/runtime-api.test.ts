import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Answer,
  type Recorded,
  type Scripted,
  startFakeRuntimeApi,
} from '../../helpers/fake-runtime-api.js';
import {
  cleanEnv,
  handlers,
  repoRoot,
  runtimeCommand,
  type Spawned,
  spawnCaptured,
} from '../../helpers/process.js';

type Fake = Awaited<ReturnType<typeof startFakeRuntimeApi>>;
const running: { fake: Fake; runtime: Spawned }[] = [];

afterEach(async () => {
  for (const { fake, runtime } of running.splice(0)) {
    await runtime.kill();
    await fake.close();
  }
});

async function start(
  handler: string,
  options: {
    invocations?: Scripted[];
    answer?: (request: Recorded, index: number) => Answer | undefined;
    env?: Record<string, string>;
    address?: (fakeAddress: string) => string;
  } = {},
) {
  const fake = await startFakeRuntimeApi({ invocations: options.invocations ?? [], answer: options.answer });
  const runtime = spawnCaptured(
    runtimeCommand,
    cleanEnv({
      AWS_LAMBDA_RUNTIME_API: options.address ? options.address(fake.address) : fake.address,
      LAMBDA_TASK_ROOT: handlers,
      _HANDLER: handler,
      AWS_LAMBDA_FUNCTION_NAME: 'wire',
      ...options.env,
    }),
  );
  running.push({ fake, runtime });
  return { fake, runtime };
}

const isPost = (suffix: string) => (r: Recorded) => r.method === 'POST' && r.path.endsWith(suffix);
const XRAY_CAUSE = 'lambda-runtime-function-xray-error-cause';
const cause = (post: Recorded) => {
  const header = post.headers[XRAY_CAUSE];
  return header === undefined ? undefined : JSON.parse(String(header));
};
const kinds = path.join(handlers, 'kinds', 'index.mjs');
/** The line of the handler fixture that reads `code`. */
const lineOf = (code: string) => readFileSync(kinds, 'utf8').split('\n').indexOf(code) + 1;

describe('Runtime API: the loop on the wire', () => {
  it('GET /next, then POST /response with the JSON result, echoing the invocation id', async () => {
    const { fake } = await start('kinds/index.echo', {
      invocations: [
        {
          event: { hello: 'wire' },
          requestId: 'id/with space',
          headers: { 'lambda-runtime-invocation-id': 'nonce-1' },
        },
      ],
    });
    const post = await fake.waitFor(isPost('/response'));
    expect(post.path).toBe('/2018-06-01/runtime/invocation/id%2Fwith%20space/response');
    expect(JSON.parse(post.body.toString())).toEqual({ hello: 'wire' });
    expect(post.headers['lambda-runtime-invocation-id']).toBe('nonce-1');
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers['user-agent']).toMatch(/^justfn\/\d+\.\d+\.\d+/);
    // One keep-alive connection: the next /next follows on it.
    await fake.waitFor((r) => r.method === 'GET' && fake.requests.indexOf(r) > 0);
  });

  it("a streamed /response and a thrown error's /error echo the invocation id too", async () => {
    const echoed = { 'lambda-runtime-invocation-id': 'nonce-s' };
    const [streamed, thrown] = await Promise.all([
      start('kinds/index.streamPlain', { invocations: [{ event: 1, requestId: 's1', headers: echoed }] }),
      start('kinds/index.throwError', { invocations: [{ event: {}, requestId: 't1', headers: echoed }] }),
    ]);
    const response = await streamed.fake.waitFor(isPost('/s1/response'));
    expect(response.headers['lambda-runtime-function-response-mode']).toBe('streaming');
    expect(response.headers['lambda-runtime-invocation-id']).toBe('nonce-s');
    const error = await thrown.fake.waitFor(isPost('/t1/error'));
    expect(error.headers['lambda-runtime-invocation-id']).toBe('nonce-s');
  });

  it('accepts AWS_LAMBDA_RUNTIME_API with an http:// prefix', async () => {
    const { fake } = await start('kinds/index.echo', {
      invocations: [{ event: 1 }],
      address: (address) => `http://${address}`,
    });
    expect((await fake.waitFor(isPost('/response'))).body.toString()).toBe('1');
  });

  it("the runtime's own Runtime API calls are not the function's outgoing calls to a tracer", async () => {
    // A tracer subscribed to undici's channels would record each GET /next and POST /response, as it
    // does not with AWS's native client.
    const { fake } = await start('tracing/index.handler', { invocations: [{ event: 1 }, { event: 2 }] });
    await fake.waitFor(
      (r) => isPost('/response')(r) && fake.requests.filter(isPost('/response')).length === 2,
    );
    const answers = fake.requests.filter(isPost('/response')).map((r) => JSON.parse(r.body.toString()));
    expect(answers).toEqual([{ seen: [] }, { seen: [] }]);
  });

  it('fills the context from the invoke headers and _X_AMZN_TRACE_ID per invocation', async () => {
    const { fake } = await start('kinds/index.contextFields', {
      invocations: [
        {
          event: {},
          requestId: 'r1',
          headers: {
            'lambda-runtime-trace-id': 'Root=1-5e1b4151-5ac6c58f5b5dbd8a6f1ba6b4;Parent=1;Sampled=1',
            'lambda-runtime-client-context': JSON.stringify({ custom: { a: 1 } }),
            'lambda-runtime-cognito-identity': JSON.stringify({
              cognitoIdentityId: 'id',
              cognitoIdentityPoolId: 'pool',
            }),
            'lambda-runtime-aws-tenant-id': 'tenant-7',
          },
        },
        { event: {}, requestId: 'r2' },
      ],
      env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512', AWS_LAMBDA_FUNCTION_VERSION: '7' },
    });
    const first = JSON.parse((await fake.waitFor(isPost('/r1/response'))).body.toString());
    expect(first).toMatchObject({
      awsRequestId: 'r1',
      functionName: 'wire',
      functionVersion: '7',
      memoryLimitInMB: '512',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:012345678912:function:fake',
      clientContext: { custom: { a: 1 } },
      identity: { cognitoIdentityId: 'id', cognitoIdentityPoolId: 'pool' },
      tenantId: 'tenant-7',
      traceEnv: 'Root=1-5e1b4151-5ac6c58f5b5dbd8a6f1ba6b4;Parent=1;Sampled=1',
    });
    const second = JSON.parse((await fake.waitFor(isPost('/r2/response'))).body.toString());
    expect(second.traceEnv).toBeNull();
  });

  it('a client context that is not JSON fails that invocation, not the process', async () => {
    const { fake } = await start('kinds/index.echo', {
      invocations: [
        { event: {}, requestId: 'bad', headers: { 'lambda-runtime-client-context': '{nope' } },
        { event: 'fine', requestId: 'good' },
      ],
    });
    const error = await fake.waitFor(isPost('/bad/error'));
    expect(JSON.parse(error.body.toString()).errorMessage).toMatch(
      /^Cannot parse ClientContext as json: SyntaxError/,
    );
    expect((await fake.waitFor(isPost('/good/response'))).body.toString()).toBe('"fine"');
  });

  it('POST /error carries the Node error body and the error type header', async () => {
    const { fake, runtime } = await start('kinds/index.throwError', {
      invocations: [{ event: {}, requestId: 'e1' }],
    });
    const post = await fake.waitFor(isPost('/e1/error'));
    const body = JSON.parse(post.body.toString());
    expect(body).toMatchObject({ errorType: 'RangeError', errorMessage: 'out of range' });
    expect(body.trace[0]).toBe('RangeError: out of range');
    expect(post.headers['lambda-runtime-function-error-type']).toBe('RangeError');
    await runtime.waitForOutput(
      /\te1\tERROR\tInvoke Error \t\{"errorType":"RangeError","errorMessage":"out of range"/,
    );
  });

  it('POST /error carries the X-Ray error cause: the type, the message, and the frames of the stack', async () => {
    const { fake } = await start('kinds/index.throwError', { invocations: [{ event: {}, requestId: 'x1' }] });
    const sent = cause(await fake.waitFor(isPost('/x1/error')));
    expect(sent).toMatchObject({
      working_directory: repoRoot,
      exceptions: [{ type: 'RangeError', message: 'out of range' }],
    });
    const [frame] = sent.exceptions[0].stack;
    expect(frame).toEqual({
      path: kinds,
      line: lineOf("  throw new RangeError('out of range');"),
      // V8's name for the frame: justfn calls the handler as a method.
      label: expect.stringContaining('throwError'),
    });
    expect(sent.paths).toEqual([...new Set(sent.exceptions[0].stack.map((f: { path: string }) => f.path))]);
    expect(sent.paths[0]).toBe(kinds);
  });

  it("a thrown string's cause has no type, message or frames; a thrown undefined has none: as AWS's client", async () => {
    const [string, undef] = await Promise.all([
      start('kinds/index.throwString', { invocations: [{ event: {}, requestId: 's1' }] }),
      start('kinds/index.throwUndefined', { invocations: [{ event: {}, requestId: 'u1' }] }),
    ]);
    expect(cause(await string.fake.waitFor(isPost('/s1/error')))).toEqual({
      working_directory: repoRoot,
      exceptions: [{ stack: [] }],
      paths: [],
    });
    expect((await undef.fake.waitFor(isPost('/u1/error'))).headers[XRAY_CAUSE]).toBeUndefined();
  });

  it('a cause is printable ASCII of at most 64 KiB: a long message is cropped, the frames kept', async () => {
    const { fake } = await start('kinds/index.throwLong', { invocations: [{ event: {}, requestId: 'l1' }] });
    const post = await fake.waitFor(isPost('/l1/error'));
    const header = String(post.headers[XRAY_CAUSE]);
    expect(header).toMatch(/^[\x20-\x7e]+$/);
    expect(header.length).toBeLessThanOrEqual(64 * 1024);
    const [exception] = cause(post).exceptions;
    expect(exception.message).toMatch(/^é{1000,}\.\.\.$/);
    expect(exception.stack[0]).toMatchObject({ path: kinds, label: expect.stringContaining('throwLong') });
    expect(JSON.parse(post.body.toString()).errorMessage).toBe('é'.repeat(100_000));
  });

  it('an error type no header can carry: the body keeps it, the header says Runtime.Unknown, the loop goes on', async () => {
    const { fake } = await start('kinds/index.throwOdd', {
      invocations: [
        { event: { kind: 'cyrillic' }, requestId: 'o1' },
        { event: { kind: 'newline' }, requestId: 'o2' },
        { event: { kind: 'nullProto' }, requestId: 'o3' },
        { event: { kind: 'getter' }, requestId: 'o4' },
      ],
    });
    const posted = async (id: string) => {
      const post = await fake.waitFor(isPost(`/${id}/error`));
      return [post.headers['lambda-runtime-function-error-type'], JSON.parse(post.body.toString()).errorType];
    };
    expect(await posted('o1')).toEqual(['Runtime.Unknown', 'ОшибкаВалидации']);
    expect(cause(await fake.waitFor(isPost('/o1/error'))).exceptions[0].type).toBe('ОшибкаВалидации');
    expect(await posted('o2')).toEqual(['Runtime.Unknown', 'Bad\nName']);
    // What AWS's runtime posts for a thrown value whose fields cannot be read.
    expect(await posted('o3')).toEqual(['handled', 'handled']);
    expect(await posted('o4')).toEqual(['handled', 'handled']);
  });

  it('an unreadable event is that invocation error: the id echoed, the request id on its log line', async () => {
    const { fake, runtime } = await start('kinds/index.echo', {
      invocations: [
        {
          event: Buffer.from('{not json'),
          requestId: 'bad-event',
          headers: { 'lambda-runtime-invocation-id': 'inv-7' },
        },
        { event: 'fine', requestId: 'good' },
      ],
    });
    const post = await fake.waitFor(isPost('/bad-event/error'));
    expect(post.headers['lambda-runtime-invocation-id']).toBe('inv-7');
    expect(JSON.parse(post.body.toString()).errorType).toBe('Runtime.InvalidEvent');
    await fake.waitFor(isPost('/good/response'));
    await runtime.waitForOutput(/\tbad-event\tERROR\tInvoke Error \t\{"errorType":"Runtime.InvalidEvent"/);
  });

  it.each([
    ['callbackNeverCalled', 'response', null],
    ['syncNeverSettles', 'response', null],
    ['asyncNeverSettles', 'error', 'Runtime.NodeJsExit'],
    ['awaitsUnrefTimer', 'error', 'Runtime.NodeJsExit'],
  ])(
    "%s: the event loop runs dry first, and the invocation ends there (/%s), as with AWS's v3 client",
    async (handler, post, errorType) => {
      const { fake } = await start(`kinds/index.${handler}`, {
        invocations: [
          { event: {}, requestId: 'dry-1' },
          { event: {}, requestId: 'dry-2' },
        ],
      });
      const first = await fake.waitFor(isPost(`/dry-1/${post}`));
      if (errorType === null) expect(first.body.toString()).toBe('null');
      else {
        expect(first.headers['lambda-runtime-function-error-type']).toBe(errorType);
        expect(JSON.parse(first.body.toString())).toMatchObject({
          errorType,
          errorMessage: expect.stringContaining('a Promise that was never settled'),
        });
      }
      // The same process goes on: the event loop has work again.
      await fake.waitFor(isPost(`/dry-2/${post}`));
    },
  );

  it('a result that cannot be stringified is the invocation error', async () => {
    const { fake } = await start('kinds/index.cycle', { invocations: [{ event: {}, requestId: 'c1' }] });
    const body = JSON.parse((await fake.waitFor(isPost('/c1/error'))).body.toString());
    expect(body).toMatchObject({
      errorType: 'Runtime.JSONStringifyError',
      errorMessage: 'Unable to stringify response body',
    });
  });
});

describe('Runtime API: answers the runtime survives', () => {
  it.each([
    [410, 'WARN', 'already timed out'],
    [413, 'ERROR', 'answered 413'],
    [400, 'ERROR', 'answered 400'],
    [403, 'ERROR', 'answered 403'],
  ])('%i on /response is logged and the loop goes on', async (status, level, text) => {
    const { fake, runtime } = await start('kinds/index.echo', {
      invocations: [
        { event: 1, requestId: 'first' },
        { event: 2, requestId: 'second' },
      ],
      answer: (r) => (r.path.endsWith('/first/response') ? status : undefined),
    });
    await fake.waitFor(isPost('/second/response'));
    await runtime.waitForOutput(new RegExp(`\\tfirst\\t${level}\\tPOST /response: .*${text}`));
  });

  it('a 500 from the Runtime API ends the process', async () => {
    const { runtime } = await start('kinds/index.echo', {
      invocations: [{ event: 1, requestId: 'x' }],
      answer: (r) => (r.path.endsWith('/response') ? 500 : undefined),
    });
    expect(await runtime.exited).toBe(1);
    expect(runtime.stdout()).toMatch(/Runtime API Error.*POST \/response: the Runtime API answered 500/);
  });

  it('a 500 to a streamed response ends the process too (exit 1), nothing else posted', async () => {
    const { fake, runtime } = await start('kinds/index.streamPlain', {
      invocations: [{ event: 1, requestId: 's500' }],
      answer: (r) => (r.path.endsWith('/response') ? 500 : undefined),
    });
    expect(await runtime.exited).toBe(1);
    expect(runtime.stdout()).toMatch(
      /Runtime API Error.*POST \/response \(streaming\): the Runtime API answered 500/,
    );
    expect(fake.requests.filter(isPost('/error'))).toEqual([]);
  });

  it('a mid-stream error whose type no trailer can carry is still reported in the trailers', async () => {
    const { fake } = await start('kinds/index.streamOddError', {
      invocations: [{ event: 1, requestId: 'so' }],
    });
    const post = await fake.waitFor(isPost('/so/response'));
    expect(post.trailers['lambda-runtime-function-error-type']).toBe('Runtime.Unknown');
  });

  it('a connection reset on a post is retried on a new connection', async () => {
    let resets = 0;
    const { fake } = await start('kinds/index.echo', {
      invocations: [{ event: 'again', requestId: 'reset' }],
      answer: (r) => (r.path.endsWith('/response') && resets++ === 0 ? 'reset' : undefined),
    });
    await fake.waitFor(
      (r) => isPost('/reset/response')(r) && fake.requests.filter(isPost('/reset/response')).length === 2,
    );
    expect(fake.requests.filter(isPost('/reset/response')).map((r) => r.body.toString())).toEqual([
      '"again"',
      '"again"',
    ]);
  });
});

describe('Runtime API: init and crashes', () => {
  it('an init error is posted to /init/error with its type, then the process exits 129', async () => {
    const { fake, runtime } = await start('missing-module/index.handler');
    const post = await fake.waitFor(isPost('/init/error'));
    expect(post.headers['lambda-runtime-function-error-type']).toBe('Runtime.ImportModuleError');
    expect(JSON.parse(post.body.toString())).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: expect.stringMatching(/Cannot find module 'this-module-does-not-exist'/),
    });
    expect(await runtime.exited).toBe(129);
    expect(fake.requests.some((r) => r.path.endsWith('/next'))).toBe(false);
  });

  it('an unhandled rejection left behind by init is an init error, before any /next: exit 128', async () => {
    const { fake, runtime } = await start('reject-at-load/index.handler');
    const post = await fake.waitFor(isPost('/init/error'));
    expect(JSON.parse(post.body.toString())).toMatchObject({
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'Error: left behind at load',
    });
    expect(await runtime.exited).toBe(128);
    expect(fake.requests.some((r) => r.path.endsWith('/next'))).toBe(false);
  });

  it('an uncaught exception is that invocation error, then exit 129', async () => {
    const { fake, runtime } = await start('kinds/index.uncaught', {
      invocations: [{ event: {}, requestId: 'u1' }],
    });
    const post = await fake.waitFor(isPost('/u1/error'));
    expect(JSON.parse(post.body.toString())).toMatchObject({
      errorType: 'Error',
      errorMessage: 'thrown from a timer',
    });
    expect(cause(post).exceptions[0]).toMatchObject({ type: 'Error', message: 'thrown from a timer' });
    expect(await runtime.exited).toBe(129);
    expect(runtime.stdout()).toMatch(/\tu1\tERROR\tUncaught Exception \t\{"errorType":"Error"/);
  });

  it('an unhandled rejection after the response keeps the response and exits 128', async () => {
    const { fake, runtime } = await start('kinds/index.unhandledAfterResponse', {
      invocations: [{ event: {}, requestId: 'late' }],
    });
    expect((await fake.waitFor(isPost('/late/response'))).body.toString()).toBe('"answered"');
    expect(await runtime.exited).toBe(128);
    expect(runtime.stdout()).toMatch(
      /\tlate\tERROR\tUnhandled Promise Rejection \t\{"errorType":"Runtime.UnhandledPromiseRejection","errorMessage":"Error: late rejection"/,
    );
  });
});
