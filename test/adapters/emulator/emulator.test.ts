import { writeFileSync } from 'node:fs';
import http from 'node:http';
import Module from 'node:module';
import path from 'node:path';
import { Pool, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../../helpers/emulator.js';
import { fixtures } from '../../helpers/process.js';
import { tempDir } from '../../helpers/temp.js';

type TestEmulator = Awaited<ReturnType<typeof startTestEmulator>>;
const opened: TestEmulator[] = [];
afterAll(() => Promise.all(opened.map((e) => e.close())));

async function emulate(handler: string, options?: Parameters<typeof startTestEmulator>[1]) {
  const emulator = await startTestEmulator(handler, options);
  opened.push(emulator);
  return emulator;
}

describe('justfn emulate: the environment Lambda gives a function', () => {
  it("AWS_EXECUTION_ENV as this Node's managed runtime, AWS_LAMBDA_INITIALIZATION_TYPE on-demand", async () => {
    // Libraries read both: Powertools Tracer stays off without the first, its cold_start needs the second.
    const { invoke } = await emulate('kinds/index.lambdaEnv');
    const major = process.versions.node.split('.')[0];
    expect(JSON.parse((await invoke('{}')).text)).toEqual({
      executionEnv: `AWS_Lambda_nodejs${major}.x`,
      initializationType: 'on-demand',
      nodePath: `/opt/nodejs/node${major}/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task`,
    });
  });

  it('AWS_LAMBDA_INITIALIZATION_TYPE lambda-managed-instances with a maximum concurrency', async () => {
    const { invoke } = await emulate('kinds/index.lambdaEnv', { maxConcurrency: 2 });
    expect(JSON.parse((await invoke('{}')).text)).toMatchObject({
      initializationType: 'lambda-managed-instances',
    });
  });

  it("the emulated name and memory are what the function reads, over the caller's environment", async () => {
    const { invoke } = await emulate('kinds/index.contextFields', {
      functionName: 'emulated',
      memorySize: 256,
      env: { AWS_LAMBDA_FUNCTION_NAME: 'other', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' },
    });
    expect(JSON.parse((await invoke('{}')).text)).toMatchObject({
      functionName: 'emulated',
      memoryLimitInMB: '256',
    });
  });

  it("AWS_LAMBDA_EXEC_WRAPPER starts the runtime through that script, as on Lambda's managed runtimes", async () => {
    const wrapper = path.join(fixtures, 'exec-wrapper', 'wrapper');
    const { invoke } = await emulate('wrapped/index.handler', { env: { AWS_LAMBDA_EXEC_WRAPPER: wrapper } });
    const reply = JSON.parse((await invoke('{}')).text) as { argumentsGiven: string; script: string };
    // Node, its options from bootstrap/node-flags (none in a checkout) and main.cjs (the handler is in
    // _HANDLER): the command that starts the runtime, as the wrapper's arguments.
    expect(reply).toEqual({
      argumentsGiven: expect.stringMatching(/^\S*node( --[\w-]+)* \S+\/dist\/main\.cjs$/),
      preloaded: true,
      script: expect.stringMatching(/dist\/main\.cjs$/),
    });
  });

  it('AWS_LAMBDA_EXEC_WRAPPER that is not an executable file: the runtime says so and does not start', async () => {
    const { invoke, output } = await emulate('wrapped/index.handler', {
      env: { AWS_LAMBDA_EXEC_WRAPPER: path.join(fixtures, 'exec-wrapper', 'preload.cjs') },
    });
    const reply = await invoke('{}');
    expect(output()).toContain(
      `justfn bootstrap: AWS_LAMBDA_EXEC_WRAPPER is ${path.join(fixtures, 'exec-wrapper', 'preload.cjs')}, which is not an executable file`,
    );
    expect(JSON.parse(reply.text)).toMatchObject({ errorType: 'Runtime.ExitError' });
  });

  it('AWS_EXECUTION_ENV as Lambda set it, where it did (AWS_Lambda_Image for an image)', async () => {
    const { invoke } = await emulate('kinds/index.lambdaEnv', {
      env: { AWS_EXECUTION_ENV: 'AWS_Lambda_Image' },
    });
    expect(JSON.parse((await invoke('{}')).text)).toMatchObject({ executionEnv: 'AWS_Lambda_Image' });
  });
});

describe("justfn emulate: a layer's packages, found as Lambda's Node runtime finds them", () => {
  // A layer of dependencies, as Lambda would mount it at /opt: nodejs/node_modules.
  const layer = path.join(fixtures, 'layer', 'nodejs', 'node_modules');
  const env = { NODE_PATH: ['/nonexistent/node_modules', layer].join(path.delimiter) };

  it('a NODE_PATH set for the function is kept', async () => {
    const { invoke } = await emulate('kinds/index.lambdaEnv', { env });
    expect(JSON.parse((await invoke('{}')).text)).toMatchObject({ nodePath: env.NODE_PATH });
  });

  it('require() finds a package on NODE_PATH', async () => {
    const { invoke } = await emulate('node-path/index.handler', { env });
    expect(JSON.parse((await invoke('{"name":"cjs"}')).text)).toEqual({
      greeting: "hello cjs, from the layer's CommonJS module",
    });
  });

  // Node's own resolver ignores NODE_PATH for ES modules; Lambda's looks there too, and so does justfn
  // where Node has in-thread module hooks (22.15 on: the layer's and the image's Node).
  const hooks = typeof (Module as { registerHooks?: unknown }).registerHooks === 'function';
  it(`import finds a package in NODE_PATH's node_modules directories${hooks ? '' : ' (not on this Node: it has no module.registerHooks)'}`, async () => {
    const { invoke } = await emulate('node-path/esm.handler', { env });
    const reply = await invoke('{"name":"esm"}');
    if (hooks) {
      expect([reply.headers['x-amz-function-error'], JSON.parse(reply.text)]).toEqual([
        undefined,
        { greeting: "hello esm, from the layer's ES module" },
      ]);
    } else {
      expect(JSON.parse(reply.text)).toMatchObject({
        errorType: 'Runtime.ImportModuleError',
        errorMessage: expect.stringContaining("Cannot find package 'layer-greeting'"),
      });
    }
  });

  // A package the hook finds in the layer but cannot import from is Node's own error, as it would be from the
  // function's node_modules: not "Cannot find package", which would send its author looking for the layer.
  it(`an import the layer's package does not export is Node's error saying so${hooks ? '' : ' (not on this Node: it has no module.registerHooks)'}`, async () => {
    const { invoke } = await emulate('node-path/unexported.handler', { env });
    expect(JSON.parse((await invoke('{"name":"esm"}')).text)).toMatchObject(
      hooks
        ? {
            errorMessage: expect.stringContaining(
              `Package subpath './index.mjs' is not defined by "exports" in ${layer}`,
            ),
          }
        : {
            errorType: 'Runtime.ImportModuleError',
            errorMessage: expect.stringContaining("Cannot find package 'layer-greeting'"),
          },
    );
  });

  it('an import of a package found nowhere is still Runtime.ImportModuleError, naming the package', async () => {
    const { invoke } = await emulate('node-path/missing.handler', { env });
    expect(JSON.parse((await invoke('{}')).text)).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: expect.stringContaining("Cannot find package 'no-such-package-anywhere'"),
    });
  });
});

describe('justfn emulate: results and errors as Lambda answers them', () => {
  it.each([
    ['kinds/index.echo', '{"a":[1,2]}', '{"a":[1,2]}'],
    ['kinds/index.syncValue', '{"n":4}', '{"sync":true,"got":4}'],
    ['kinds/index.callback', '{}', '{"callback":true}'],
    ['kinds/index.succeed', '{}', '{"succeeded":true}'],
    ['cjs/index.handler', '"x"', '{"format":"cjs","event":"x"}'],
    ['esm-type-module/index.handler', '1', '{"format":"type-module","event":1}'],
    ['tla/index.handler', '{}', '{"format":"tla","config":{"loaded":true}}'],
  ])('%s', async (handler, event, expected) => {
    const { invoke } = await emulate(handler);
    const reply = await invoke(event);
    expect([reply.status, reply.headers['x-amz-function-error'], reply.text]).toEqual([
      200,
      undefined,
      expected,
    ]);
  });

  it.each([
    ['kinds/index.throwError', 'RangeError', 'out of range'],
    ['kinds/index.throwString', 'string', 'plain string'],
    // Its X-Ray error cause, cropped to 64 KiB, is over node:http's default header limit.
    ['kinds/index.throwLong', 'Error', 'é'.repeat(100_000)],
    ['kinds/index.throwUndefined', 'undefined', 'undefined'],
    ['kinds/index.reject', 'Error', 'rejected'],
    ['kinds/index.cycle', 'Runtime.JSONStringifyError', 'Unable to stringify response body'],
    ['not-function/index.handler', 'Runtime.HandlerNotFound', 'not-function/index.handler is not a function'],
    ['kinds/index.nope', 'Runtime.HandlerNotFound', 'kinds/index.nope is undefined or not exported'],
    [
      'tla-never/index.handler',
      'Runtime.ImportModuleError',
      expect.stringMatching(
        /tla-never\/index\.mjs: its top-level await never finished: it awaits a promise that nothing is left to settle$/,
      ),
    ],
  ])('%s answers its error', async (handler, errorType, errorMessage) => {
    const { invoke } = await emulate(handler);
    const reply = await invoke('{}');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-amz-function-error']).toBe('Unhandled');
    expect(JSON.parse(reply.text)).toMatchObject({ errorType, errorMessage });
  });

  it('a syntax error answers Runtime.UserCodeSyntaxError, every time', async () => {
    const { invoke } = await emulate('syntax-error/index.handler');
    for (let i = 0; i < 2; i++) {
      expect(JSON.parse((await invoke('{}')).text)).toMatchObject({
        errorType: 'Runtime.UserCodeSyntaxError',
      });
    }
  });

  it('a result over 6 MB is Function.ResponseSizeTooLarge and the runtime goes on', async () => {
    const { invoke, waitForOutput } = await emulate('kinds/index.big');
    const reply = await invoke('{}');
    expect(JSON.parse(reply.text)).toEqual({
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
      errorType: 'Function.ResponseSizeTooLarge',
    });
    await waitForOutput(/ERROR\tPOST \/response: the Runtime API answered 413/);
    expect(JSON.parse((await invoke('{}')).text).errorType).toBe('Function.ResponseSizeTooLarge');
  });

  it('process.exit in the handler is Runtime.ExitError, and the next invocation starts a new runtime', async () => {
    const { invoke, emulator } = await emulate('kinds/index.exit');
    const first = emulator.runtimePid();
    const reply = await invoke('{}');
    expect(JSON.parse(reply.text)).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/Runtime exited with error: exit status 3$/),
    });
    await invoke('{}');
    expect(emulator.runtimePid()).not.toBe(first);
  });

  it('a timeout answers as Lambda does and resets the runtime', async () => {
    const { invoke } = await emulate('kinds/index.sleep', { timeout: 1 });
    const reply = await invoke('{"ms":5000}');
    expect(reply.headers['x-amz-function-error']).toBe('Unhandled');
    expect(JSON.parse(reply.text)).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(
        /^RequestId: [0-9a-f-]{36} Error: Task timed out after 1.00 seconds$/,
      ),
    });
    expect(JSON.parse((await invoke('{"ms":10}')).text)).toEqual({ slept: 10, aborted: false });
  });

  it("time waiting behind another invocation is not the function's time; a timeout kills its own runtime", async () => {
    const { invoke } = await emulate('kinds/index.sleep', { timeout: 1 });
    const [first, second] = await Promise.all([invoke('{"ms":600}'), invoke('{"ms":600}')]);
    expect([JSON.parse(first.text), JSON.parse(second.text)]).toEqual([
      { slept: 600, aborted: false },
      { slept: 600, aborted: false },
    ]);
    // Two that time out, one queued behind the other: each kills the runtime running it, and the third,
    // queued behind both, runs on a fresh one.
    const [a, b, c] = await Promise.all([invoke('{"ms":5000}'), invoke('{"ms":5000}'), invoke('{"ms":10}')]);
    expect([JSON.parse(a.text).errorType, JSON.parse(b.text).errorType]).toEqual([
      'Sandbox.Timedout',
      'Sandbox.Timedout',
    ]);
    expect(JSON.parse(c.text)).toEqual({ slept: 10, aborted: false });
  });

  it('a runtime that exits in init without a word answers Runtime.ExitError at once, and is not respawned', async () => {
    const { invoke, emulator } = await emulate('init-exit/index.handler', { timeout: 30 });
    const reply = await invoke('{}');
    expect(JSON.parse(reply.text)).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/Runtime exited with error: exit status 3$/),
    });
    // The emulator runs in this process and answered from the runtime's exit handler, which is also where
    // it would have respawned it: by the time the answer is here, a respawn would have happened.
    expect(emulator.runtimePid()).toBeUndefined();
    expect(JSON.parse((await invoke('{}')).text).errorType).toBe('Runtime.ExitError');
  });

  it('passes X-Amz-Client-Context (base64), X-Amzn-Trace-Id and X-Amz-Tenant-Id to the context', async () => {
    const { invoke } = await emulate('kinds/index.contextFields', {
      functionName: 'emulated',
      memorySize: 256,
    });
    const reply = await invoke('{}', {
      'x-amz-client-context': Buffer.from(JSON.stringify({ custom: { k: 'v' } })).toString('base64'),
      'x-amzn-trace-id': 'Root=1-abc',
      'x-amz-tenant-id': 'acme',
    });
    expect(JSON.parse(reply.text)).toMatchObject({
      functionName: 'emulated',
      memoryLimitInMB: '256',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:012345678912:function:emulated',
      clientContext: { custom: { k: 'v' } },
      tenantId: 'acme',
      traceEnv: 'Root=1-abc',
      logGroupName: '/aws/lambda/Functions',
    });
  });

  it('a client context with characters a header cannot hold reaches the function whole', async () => {
    const { invoke, emulator } = await emulate('kinds/index.contextFields');
    const pid = emulator.runtimePid();
    for (const custom of [{ price: '9 €', note: 'ünïcödé 🎉' }, { note: 'two\r\nlines\u0000' }]) {
      const reply = await invoke('{}', {
        'x-amz-client-context': Buffer.from(JSON.stringify({ custom })).toString('base64'),
      });
      expect(JSON.parse(reply.text).clientContext).toEqual({ custom });
    }
    expect(emulator.runtimePid()).toBe(pid);
  });

  it('a request id its Runtime API cannot decode: 400 InvalidRequestID, and it serves on', async () => {
    const { invoke, emulator } = await emulate('kinds/index.contextFields');
    await emulator.ready();
    const response = await request(
      `http://${emulator.runtimeApi}/2018-06-01/runtime/invocation/%E0%A4%A/response`,
      { method: 'POST', body: '{}' },
    );
    expect([response.statusCode, await response.body.json()]).toEqual([
      400,
      { errorType: 'InvalidRequestID', errorMessage: 'Invalid request ID' },
    ]);
    expect((await invoke('{}')).status).toBe(200);
  });

  // @aws/lambda-invoke-store puts its store on the global awslambda: a frozen one made every AWS SDK v3
  // call throw. It takes justfn's store instead, which knows the invocation's ids.
  it('the AWS SDK finds its invoke store on the global awslambda, with the invocation ids', async () => {
    const { invoke } = await emulate('invoke-store/index.handler');
    const seen = JSON.parse((await invoke('{}', { 'x-amzn-trace-id': 'Root=1-abc' })).text);
    expect(seen).toEqual({
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      traceId: 'Root=1-abc',
      runtimes: true,
    });
  });

  it('prints START, END and REPORT with the init duration once', async () => {
    const { invoke, reports } = await emulate('kinds/index.echo');
    await invoke('1');
    await invoke('2');
    expect(reports.filter((l) => l.startsWith('REPORT')).map((l) => l.includes('Init Duration'))).toEqual([
      true,
      false,
    ]);
  });
});

describe('justfn emulate: logs carry the request id', () => {
  it('every console line of the invocation, in Lambda Text format', async () => {
    const { invoke, output } = await emulate('kinds/index.logs');
    await invoke('{}');
    const lines = output().trim().split('\n');
    const id = /^\S+\t([0-9a-f-]{36})\tINFO\tplain line$/.exec(
      lines.find((l) => l.includes('plain line'))!,
    )![1];
    for (const line of lines) expect(line.split('\t')[1]).toBe(id);
    expect(lines).toContainEqual(expect.stringMatching(/\tINFO\tmulti\rline$/));
    expect(lines).toContainEqual(expect.stringMatching(/\tWARN\twarning \{ n: 1 \}$/));
    expect(lines).toContainEqual(expect.stringMatching(/\tERROR\tError: logged error\r\s+at /));
    expect(lines).toContainEqual(expect.stringMatching(/\tDEBUG\tdebug line$/));
  });

  it('JSON format and level filtering', async () => {
    const { invoke, output } = await emulate('kinds/index.logs', {
      env: { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'WARN' },
    });
    await invoke('{}');
    const records = output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.map((r) => r.level)).toEqual(['WARN', 'ERROR']);
    expect(records[0]).toMatchObject({ message: 'warning { n: 1 }', requestId: expect.any(String) });
    // As AWS's runtime: a lone Error becomes the message, with its type, message and stack as fields.
    expect(records[1]).toMatchObject({
      level: 'ERROR',
      message: { errorType: 'Error', errorMessage: 'logged error' },
    });
    expect(records[1].message.stackTrace[0]).toBe('Error: logged error');
  });
});

describe('justfn emulate: AWS_LAMBDA_RUNTIME_VERBOSE', () => {
  const runtimeLines = (output: string) =>
    output
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .filter((fields) => fields[3]?.startsWith('RUNTIME '));

  it('1: what init loaded and when it was done', async () => {
    const { invoke, output } = await emulate('kinds/index.echo', {
      env: { AWS_LAMBDA_RUNTIME_VERBOSE: '1' },
    });
    await invoke('{}');
    expect(runtimeLines(output()).map((fields) => fields[3])).toEqual([
      expect.stringMatching(/^RUNTIME LOADER kinds\/index\.echo: a promise handler in \//),
      expect.stringMatching(/^RUNTIME INIT done: \d+ ms after the process started$/),
    ]);
  });

  it("3: each exchange with the Runtime API too, under the invocation's request id, with its headers", async () => {
    const { invoke, output, waitForOutput } = await emulate('kinds/index.echo', {
      env: { AWS_LAMBDA_RUNTIME_VERBOSE: '3' },
    });
    await invoke('{}', { 'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793' });
    await waitForOutput(/RUNTIME RAPID POST \/response/);
    const rapid = runtimeLines(output()).filter((fields) => fields[3]!.startsWith('RUNTIME RAPID'));
    const id = /^RUNTIME RAPID GET \/next: ([0-9a-f-]{36}) \{/.exec(rapid[0]![3]!)![1];
    expect(rapid[0]![3]).toContain('"lambda-runtime-trace-id":"Root=1-5759e988-bd862e3fe1be46a994272793"');
    expect(rapid[1]).toEqual([expect.any(String), id, 'INFO', 'RUNTIME RAPID POST /response: 202']);
  });

  it('3: a value that came from a variable in justfn.yaml is masked in those lines too', async () => {
    const upstream = http.createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const dir = tempDir('verbose-secret');
    writeFileSync(path.join(dir, 'index.mjs'), 'export const echo = async (event) => event;\n');
    writeFileSync(
      path.join(dir, 'justfn.yaml'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: justfn.yaml's own ${...} syntax.
      'name: verbose\nhandler: index.echo\nresources:\n  api: { kind: http, origin: "${API_ORIGIN}" }\n',
    );
    const { invoke, output, waitForOutput } = await emulate('index.echo', {
      taskRoot: dir,
      env: { AWS_LAMBDA_RUNTIME_VERBOSE: '3', API_ORIGIN: origin },
    });
    // The caller's client context happens to carry the same value.
    const clientContext = Buffer.from(JSON.stringify({ custom: { k: origin } })).toString('base64');
    await invoke('{}', { 'x-amz-client-context': clientContext });
    await waitForOutput(/RUNTIME RAPID POST \/response/);
    upstream.close();
    const next = runtimeLines(output()).find((fields) => fields[3]!.startsWith('RUNTIME RAPID GET /next'));
    expect(next?.[3]).toContain('lambda-runtime-client-context');
    expect(output()).not.toContain(origin);
  });

  it('0, the default: no RUNTIME line', async () => {
    const { invoke, output } = await emulate('kinds/index.echo');
    await invoke('{}');
    expect(runtimeLines(output())).toEqual([]);
  });
});

describe('justfn emulate: streaming', () => {
  it('streams chunks with the prelude and its 8 NULs first', async () => {
    const { invoke } = await emulate('kinds/index.streamPrelude');
    const reply = await invoke('{}');
    expect(reply.headers['content-type']).toBe('application/vnd.awslambda.http-integration-response');
    expect(reply.text).toBe(
      `{"statusCode":201,"headers":{"x-custom":"yes"},"cookies":["a=1"]}${'\0'.repeat(8)}hello world`,
    );
  });

  it('sends the prelude when end() comes without write()', async () => {
    const { invoke } = await emulate('kinds/index.streamPreludeNoWrite');
    expect((await invoke('{}')).text).toBe(`{"statusCode":204,"headers":{"x-empty":"1"}}${'\0'.repeat(8)}`);
  });

  it('an empty stream ends instead of hanging', async () => {
    const { invoke } = await emulate('kinds/index.streamEmpty');
    const reply = await invoke('{}');
    expect([reply.status, reply.text, reply.headers['content-type']]).toEqual([
      200,
      '',
      'application/octet-stream',
    ]);
  });

  it('a stream the handler never ends times out: what was written, then Sandbox.Timedout in the trailers', async () => {
    const { invoke } = await emulate('kinds/index.streamHangs', { timeout: 1 });
    const reply = await invoke('{}');
    expect(reply.text).toBe('first bytes');
    expect(reply.trailers['lambda-runtime-function-error-type']).toBe('Sandbox.Timedout');
    const body = JSON.parse(
      Buffer.from(String(reply.trailers['lambda-runtime-function-error-body']), 'base64').toString(),
    );
    expect(body.errorMessage).toMatch(/Task timed out after 1.00 seconds$/);
    expect((await invoke('{"end":true}')).text).toBe('first bytes');
  });

  it('an error mid-stream arrives in the trailers', async () => {
    const { invoke } = await emulate('kinds/index.streamError');
    const reply = await invoke('{}');
    expect(reply.text).toBe('partial');
    expect(reply.trailers['lambda-runtime-function-error-type']).toBe('Error');
    const body = JSON.parse(
      Buffer.from(String(reply.trailers['lambda-runtime-function-error-body']), 'base64').toString(),
    );
    expect(body).toMatchObject({ errorType: 'Error', errorMessage: 'mid-stream failure' });
  });
});

describe('justfn emulate: its address', () => {
  it('an IPv6 host (--host ::1) gives an invoke URL that works', async (test) => {
    const lambda = await emulate('kinds/index.echo', { host: '::1' }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') test.skip(); // no IPv6 here
        throw error;
      },
    );
    expect(lambda.emulator.invokeUrl).toMatch(/^http:\/\/\[::1\]:\d+\//);
    expect((await lambda.invoke('{"v":6}')).text).toBe('{"v":6}');
  });
});

describe('justfn emulate: stopping', () => {
  it('an invoke waiting while the runtime is still in its init is answered as never run', async () => {
    const dir = tempDir('slow-init');
    writeFileSync(
      path.join(dir, 'index.mjs'),
      'await new Promise((resolve) => setTimeout(resolve, 30_000));\nexport const handler = async () => 1;\n',
    );
    const lambda = await startTestEmulator('index.handler', { taskRoot: dir });
    const waiting = lambda.invoke('{}');
    await expect.poll(() => lambda.emulator.queued()).toBe(1);
    await lambda.close();
    expect(JSON.parse((await waiting).text)).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/justfn emulate stopped before the invocation ran$/),
    });
  });

  it('an invoke on a kept-alive connection while it stops is refused, not run on a new runtime', async () => {
    const lambda = await startTestEmulator('kinds/index.sleep');
    const url = new URL(lambda.emulator.invokeUrl);
    const pool = new Pool(url.origin, { connections: 1 });
    const invoke = async (body: string) => {
      const answer = await pool.request({ method: 'POST', path: url.pathname, body });
      return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
    };
    const running = invoke('{"ms":60000}');
    await expect.poll(() => lambda.reports.filter((line) => line.startsWith('START')).length).toBe(1);
    const closing = lambda.close();
    // Answered as its runtime ended; its connection, kept alive, stays open while the emulator closes.
    expect((await running).body.errorType).toBe('Runtime.ExitError');
    const late = await invoke('{"ms":1}');
    await closing;
    await pool.close();
    expect(late).toEqual({
      status: 503,
      body: { errorType: 'ServiceException', errorMessage: 'justfn emulate is stopping' },
    });
    expect(lambda.emulator.runtimePid()).toBeUndefined();
  });

  it('answers what it had accepted: the running invocation as its runtime ended, the queued one as never run', async () => {
    const lambda = await startTestEmulator('kinds/index.sleep', { timeout: 60 });
    const running = lambda.invoke('{"ms":60000}');
    const queued = lambda.invoke('{"ms":60000}');
    // Both accepted, one taken by the runtime, one waiting for it.
    await expect.poll(() => lambda.reports.filter((line) => line.startsWith('START')).length).toBe(2);
    await expect.poll(() => lambda.emulator.queued()).toBe(1);
    // What `justfn emulate` does on SIGTERM or Ctrl-C.
    await lambda.close();
    const [ran, waited] = await Promise.all([running, queued]);
    for (const reply of [ran, waited]) {
      expect([reply.status, reply.headers['x-amz-function-error']]).toEqual([200, 'Unhandled']);
    }
    expect(JSON.parse(ran.text)).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/Runtime exited with error: signal: SIGKILL$/),
    });
    expect(JSON.parse(waited.text)).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/justfn emulate stopped before the invocation ran$/),
    });
  });
});
