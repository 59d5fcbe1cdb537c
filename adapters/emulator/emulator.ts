import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type InvokeResult,
  MAX_PAYLOAD,
  type PendingInvoke,
  readBody,
  startRuntimeApiServer,
} from './runtime-api-server.js';

export interface EmulatorOptions {
  handler: string;
  taskRoot: string;
  /** The command that starts the runtime in Lambda mode, e.g. `[node, dist/main.cjs]`. */
  command: readonly string[];
  /** The function's environment (the emulator adds the Lambda variables). */
  env?: Record<string, string | undefined>;
  /** Invoke endpoint port (the RIE's 8080); 0 picks a free one. */
  port?: number;
  /** Loopback by default: the raw invoke endpoint must not reach a public interface unless asked. */
  host?: string;
  /** Seconds, `AWS_LAMBDA_FUNCTION_TIMEOUT` (300 as in the RIE). */
  timeout?: number;
  memorySize?: number;
  functionName?: string;
  functionVersion?: string;
  /** `AWS_LAMBDA_MAX_CONCURRENCY`: hand out this many invocations at once (managed instances). */
  maxConcurrency?: number;
  /** Run the SnapStart restore protocol (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`). */
  snapStart?: boolean;
  /** The runtime's stdout and stderr: inherited (the CLI) or piped to these callbacks (tests). */
  output?: 'inherit' | { stdout(chunk: Buffer): void; stderr(chunk: Buffer): void };
  /** START / END / REPORT lines, as Lambda prints them. */
  report?: (line: string) => void;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/[^/]+\/invocations(\?.*)?$/;
/** After SIGTERM, Lambda gives a runtime with an internal extension 500 ms, then SIGKILL. */
const SIGTERM_GRACE_MS = 500;
/** On close, how long answers being written get before their connections close. */
const CLOSE_GRACE_MS = 1_000;

/** How an invocation ended, for the invoke endpoint's answer. */
type InvokedResult = InvokeResult & { requestId: string; timedOut: () => boolean };

/** AWS's Runtime Interface Emulator's defaults: `justfn emulate`'s, and `justfn/testing`'s context's. */
export const EMULATOR_DEFAULTS = {
  functionName: 'test_function',
  memorySize: 3008,
  logGroupName: '/aws/lambda/Functions',
  logStreamName: '$LATEST',
} as const;

/** The ARN AWS's emulator gives a function of that name. */
export function emulatorArn(functionName: string): string {
  return `arn:aws:lambda:us-east-1:012345678912:function:${functionName}`;
}

/**
 * A local Lambda: the Runtime API, the RIE's invoke endpoint (`POST /2015-03-31/functions/function/
 * invocations`) and the function's runtime as a child process in Lambda mode, started at once and again
 * after it exits. Answers follow Lambda's: 200, with `X-Amz-Function-Error: Unhandled` and the error
 * body for a function error, an init error, a crash, a timeout or a result over 6 MB.
 *
 * @example
 * const emulator = await startEmulator({ handler: 'index.handler', taskRoot: 'examples/hello', command });
 * await fetch(emulator.invokeUrl, { method: 'POST', body: '{}' });
 */
export async function startEmulator(options: EmulatorOptions) {
  const timeout = options.timeout ?? 300;
  const functionName = options.functionName ?? EMULATOR_DEFAULTS.functionName;
  const arn = emulatorArn(functionName);
  let initError: { body: Buffer; errorType: string } | undefined;
  const api = await startRuntimeApiServer({
    concurrency: options.maxConcurrency ?? 1,
    snapStart: options.snapStart ?? false,
    onInitError: (body, errorType) => {
      initError = { body, errorType };
      for (const pending of api.queued())
        api.abandon(pending.requestId, { kind: 'init-error', body, errorType });
    },
    onRestoreError: (body, errorType) => {
      initError = { body, errorType };
    },
    onExtension: () => {
      if (runtime) runtime.sigterm = true;
    },
  });

  const env = emulatedEnv(options, { functionName, timeout, runtimeApi: api.address });

  let runtime:
    | { child: ChildProcess; startedAt: number; initMs?: number; reported: boolean; sigterm?: boolean }
    | undefined;
  let closing = false;
  const spawnRuntime = () => {
    initError = undefined;
    const child = spawn(options.command[0]!, options.command.slice(1), {
      env,
      cwd: options.taskRoot,
      // A process group of its own: a terminal's Ctrl-C reaches the emulator alone, which then ends the
      // runtime as Lambda does (SIGTERM to one that asked for it) instead of the signal killing it.
      detached: true,
      // And a channel it ends with: a process that dies without close() (a test runner's worker, killed
      // while an invocation runs) would otherwise leave the runtime behind, holding the inherited output.
      stdio:
        options.output === 'inherit' || options.output === undefined
          ? ['inherit', 'inherit', 'inherit', 'ipc']
          : ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // The channel must not keep this process alive longer than the runtime itself does.
    child.channel?.unref();
    const output = options.output;
    if (output !== undefined && output !== 'inherit') {
      child.stdout?.on('data', output.stdout);
      child.stderr?.on('data', output.stderr);
    }
    const current = { child, startedAt: performance.now(), reported: false } as NonNullable<typeof runtime>;
    runtime = current;
    api.onNext(() => {
      current.initMs ??= performance.now() - current.startedAt;
    });
    child.on('exit', (code, signal) => {
      if (runtime === current) runtime = undefined;
      api.dropWaiters();
      const status = signal ? `signal: ${signal}` : `exit status ${code}`;
      const exited = (requestId: string) => ({
        kind: 'exit' as const,
        message: `RequestId: ${requestId} Error: Runtime exited with error: ${status}`,
      });
      for (const pending of api.inflight()) api.abandon(pending.requestId, exited(pending.requestId));
      // Died in init: with the error it posted, or without a word (process.exit at the module's top). The
      // invocations waiting for it fail now; the next invoke starts a new runtime, as Lambda retries init.
      const diedInInit = current.initMs === undefined;
      const failed = initError;
      // Stopping: close() answers what waits, as never run.
      for (const pending of closing ? [] : api.queued()) {
        if (failed) api.abandon(pending.requestId, { kind: 'init-error', ...failed });
        else if (diedInInit) api.abandon(pending.requestId, exited(pending.requestId));
      }
      if (!closing && api.queued().length > 0) spawnRuntime();
    });
  };

  /**
   * One invocation. Its time starts when a runtime takes it, as on Lambda (waiting behind another one is
   * not the function's time), and a timeout kills the runtime that took it. While it waits, a runtime that
   * has not finished its init by the same timeout is killed. A streamed response stays timed until it ends.
   */
  const invoke = async (body: Buffer, headers: Record<string, string>): Promise<InvokedResult> => {
    if (!runtime) spawnRuntime();
    let pending: PendingInvoke | undefined;
    let owner: typeof runtime;
    let started = performance.now();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (onTimeout: () => void, ms = timeout * 1000) => {
      clearTimeout(timer);
      timer = setTimeout(onTimeout, ms);
      timer.unref();
    };
    const result = await new Promise<InvokeResult>((settle) => {
      // Still waiting: behind invocations that each have their own timer (it waits on), or for an init.
      // A runtime whose init has taken the whole timeout is killed and the invocation answered; a younger
      // one (respawned after a crash or a timeout) gets the rest of its time. Armed first: handing the
      // invocation out, which may happen at once, replaces it with the function's own timer.
      const waiting = (ms?: number) =>
        arm(() => {
          const current = runtime;
          if (current === undefined || current.initMs !== undefined) return waiting();
          const initFor = performance.now() - current.startedAt;
          if (initFor < timeout * 1000) return waiting(timeout * 1000 - initFor);
          api.abandon(pending!.requestId, { kind: 'timeout' });
          current.child.kill('SIGKILL');
        }, ms);
      waiting();
      // Its timer stops once it has ended, a streamed response's once the stream has.
      const ended = (outcome: InvokeResult) => {
        if (outcome.kind === 'stream') outcome.response.once('close', () => clearTimeout(timer));
        else clearTimeout(timer);
        settle(outcome);
      };
      pending = api.enqueue(body, timeout * 1000, headers, ended, () => {
        owner = runtime;
        started = performance.now();
        arm(() => {
          timedOut = true;
          api.abandon(pending!.requestId, { kind: 'timeout' });
          // Lambda resets the environment after a timeout: the handler may still be running.
          owner?.child.kill('SIGKILL');
        });
      });
      options.report?.(`START RequestId: ${pending.requestId} Version: ${env.AWS_LAMBDA_FUNCTION_VERSION}`);
    });
    const requestId = pending!.requestId;
    const current = owner;
    const report = () => {
      const duration = Math.min(performance.now() - started, timeout * 1000);
      const init =
        !current || current.reported || current.initMs === undefined
          ? ''
          : `Init Duration: ${current.initMs.toFixed(2)} ms\t`;
      if (current) current.reported = true;
      options.report?.(`END RequestId: ${requestId}`);
      options.report?.(
        `REPORT RequestId: ${requestId}\t${init}Duration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.ceil(duration)} ms\tMemory Size: ${env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE} MB\tMax Memory Used: ${env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE} MB\t`,
      );
    };
    if (result.kind === 'stream') result.response.once('close', report);
    else report();
    return Object.assign(result, { requestId, timedOut: () => timedOut });
  };

  const server = http.createServer(
    invokeEndpoint({
      arn,
      closing: () => closing,
      invoke: async (body, headers, res) => respond(res, await invoke(body, headers), timeout),
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  spawnRuntime();

  return {
    invokeUrl: `http://${urlHost(options.host)}:${port}/2015-03-31/functions/function/invocations`,
    port,
    runtimeApi: api.address,
    /** The current runtime process, if one is running. */
    runtimePid: () => runtime?.child.pid,
    /** How many invocations wait for a runtime to take them. */
    queued: () => api.queued().length,
    /** Resolves once the runtime asked for its first invocation (init is done). */
    ready: () =>
      new Promise<void>((resolve) => (api.nextCount() > 0 ? resolve() : api.onNext(() => resolve()))),
    /**
     * Ends the runtime as Lambda does: SIGKILL, or, when it registered an extension, SIGTERM and 500 ms
     * to finish (its `onShutdown` hooks, its resources) before SIGKILL.
     */
    async close() {
      closing = true;
      const current = runtime;
      const child = current?.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        if (current.sigterm) {
          child.kill('SIGTERM');
          const late = setTimeout(() => child.kill('SIGKILL'), SIGTERM_GRACE_MS);
          await exited;
          clearTimeout(late);
        } else {
          child.kill('SIGKILL');
          await exited;
        }
      }
      // What no runtime took is answered, not cut off with its connection; what is being written flushes
      // first (a second at most, for a stream still going).
      for (const pending of api.queued()) {
        const message = `RequestId: ${pending.requestId} Error: justfn emulate stopped before the invocation ran`;
        api.abandon(pending.requestId, { kind: 'exit', message });
      }
      const cutOff = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      await new Promise((resolve) => server.close(resolve));
      clearTimeout(cutOff);
      await api.close();
    },
  };
}

export type Emulator = Awaited<ReturnType<typeof startEmulator>>;

/** The function's environment: the caller's, then what Lambda sets (what the emulated function is wins). */
function emulatedEnv(
  options: EmulatorOptions,
  { functionName, timeout, runtimeApi }: { functionName: string; timeout: number; runtimeApi: string },
): Record<string, string> {
  return {
    AWS_LAMBDA_FUNCTION_VERSION: options.functionVersion ?? '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: EMULATOR_DEFAULTS.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: EMULATOR_DEFAULTS.logStreamName,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    ...definedOnly(options.env ?? {}),
    // What the emulated function is (--timeout over AWS_LAMBDA_FUNCTION_TIMEOUT, say): what its code reads.
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memorySize ?? EMULATOR_DEFAULTS.memorySize),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(timeout),
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    _HANDLER: options.handler,
    LAMBDA_TASK_ROOT: options.taskRoot,
    ...(options.maxConcurrency ? { AWS_LAMBDA_MAX_CONCURRENCY: String(options.maxConcurrency) } : {}),
    // As Lambda sets it: libraries read it to tell a cold start (Powertools' cold_start field).
    AWS_LAMBDA_INITIALIZATION_TYPE: options.snapStart
      ? 'snap-start'
      : options.maxConcurrency
        ? 'lambda-managed-instances'
        : 'on-demand',
  };
}

/**
 * The RIE's invoke endpoint: what Lambda's Invoke API refuses (a body over 6 MB, one that is not JSON, a
 * bad client context) is answered as it answers, and so is an invoke while the emulator stops; the rest
 * is one invocation (an empty body is `{}`).
 */
function invokeEndpoint(endpoint: {
  arn: string;
  closing: () => boolean;
  invoke(body: Buffer, headers: Record<string, string>, res: http.ServerResponse): Promise<void>;
}): http.RequestListener {
  return (req, res) => {
    if (req.method !== 'POST' || !INVOKE_PATH.test(req.url ?? '')) {
      req.resume();
      return sendJson(res, 404, {
        errorType: 'ResourceNotFoundException',
        errorMessage: 'Function not found',
      });
    }
    readBody(req, MAX_PAYLOAD).then(
      async (body) => {
        if (body === undefined) {
          return sendJson(res, 413, {
            errorType: 'RequestEntityTooLarge',
            errorMessage: `Request must be smaller than ${MAX_PAYLOAD} bytes for the InvokeFunction operation`,
          });
        }
        if (body.length > 0 && !isJson(body)) {
          // As Lambda's Invoke API: the runtime only ever receives JSON.
          return sendJson(res, 400, {
            errorType: 'InvalidRequestContentException',
            errorMessage: 'Could not parse request body into json: the payload is not valid JSON',
          });
        }
        const headers = invokeHeaders(req, endpoint.arn);
        if (headers instanceof Error) {
          return sendJson(res, 400, {
            errorType: 'InvalidRequestContentException',
            errorMessage: headers.message,
          });
        }
        // Stopping: a request on a connection kept alive is refused, not run on a runtime spawned for it.
        if (endpoint.closing()) {
          res.setHeader('connection', 'close');
          return sendJson(res, 503, {
            errorType: 'ServiceException',
            errorMessage: 'justfn emulate is stopping',
          });
        }
        await endpoint.invoke(body.length === 0 ? Buffer.from('{}') : body, headers, res);
      },
      () => res.destroy(),
    );
  };
}

/** What the invoke request says becomes the Runtime API's invoke headers (as the RIE maps them). */
function invokeHeaders(req: http.IncomingMessage, arn: string): Record<string, string> | Error {
  const headers: Record<string, string> = { 'lambda-runtime-invoked-function-arn': arn };
  const one = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const trace = one('x-amzn-trace-id');
  if (trace) headers['lambda-runtime-trace-id'] = trace;
  const tenant = one('x-amz-tenant-id');
  if (tenant) headers['lambda-runtime-aws-tenant-id'] = tenant;
  const clientContext = one('x-amz-client-context');
  if (clientContext) {
    const header = clientContextHeader(clientContext);
    if (header === undefined) return new Error('X-Amz-Client-Context must be base64-encoded JSON');
    headers['lambda-runtime-client-context'] = header;
  }
  return headers;
}

/**
 * The client context as the Runtime API header carries it: the text the base64 holds, with every
 * character a header value cannot hold escaped as JSON escapes it (node:http refused a `€` or a line
 * break, and the emulator went down with it). JSON is written again, so its escapes stay JSON; anything
 * else is passed on, for the runtime to refuse as Lambda's does. Undefined when it is not base64.
 */
function clientContextHeader(base64: string): string | undefined {
  const decoded = Buffer.from(base64, 'base64').toString('utf8');
  if (Buffer.from(decoded, 'utf8').toString('base64').replace(/=+$/, '') !== base64.replace(/=+$/, '')) {
    return undefined;
  }
  let text = decoded;
  try {
    text = JSON.stringify(JSON.parse(decoded));
  } catch {}
  return text.replace(/[^\t\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function respond(res: http.ServerResponse, result: InvokedResult, timeout: number): void {
  if (result.kind === 'response') {
    res.writeHead(200, { 'content-type': result.contentType, 'content-length': result.body.length });
    res.end(result.body);
  } else if (result.kind === 'stream') {
    pipeStream(res, result.response, result.contentType, () =>
      result.timedOut()
        ? functionErrorBody({ kind: 'timeout', requestId: result.requestId }, timeout)
        : undefined,
    );
  } else {
    const body = functionErrorBody(result, timeout);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      'x-amz-function-error': 'Unhandled',
    });
    res.end(body);
  }
}

/** What Lambda's Invoke API answers, with `X-Amz-Function-Error: Unhandled`, when the function failed. */
function functionErrorBody(
  result: Exclude<InvokeResult, { kind: 'response' | 'stream' }> & { requestId: string },
  timeout: number,
): Buffer {
  const json = (errorType: string, errorMessage: string) =>
    Buffer.from(JSON.stringify({ errorType, errorMessage }));
  switch (result.kind) {
    case 'error':
    case 'init-error':
      return result.body;
    case 'too-large':
      return json(
        'Function.ResponseSizeTooLarge',
        `Response payload size exceeded maximum allowed payload size (${MAX_PAYLOAD} bytes).`,
      );
    case 'exit':
      return json('Runtime.ExitError', result.message);
    case 'timeout':
      return json(
        'Sandbox.Timedout',
        `RequestId: ${result.requestId} Error: Task timed out after ${timeout.toFixed(2)} seconds`,
      );
  }
}

/**
 * A streamed response goes through as it comes, its error trailers included. One the runtime never
 * finishes ends when the invocation times out, with `Sandbox.Timedout` in the trailers; one cut off
 * otherwise (the runtime died) is cut off for the caller too.
 */
function pipeStream(
  res: http.ServerResponse,
  from: http.IncomingMessage,
  contentType: string,
  timedOut: () => Buffer | undefined,
): void {
  res.writeHead(200, {
    'content-type': contentType,
    'transfer-encoding': 'chunked',
    trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
  });
  from.pipe(res, { end: false });
  const trailers = (errorType: string, body: string) =>
    res.addTrailers({
      'Lambda-Runtime-Function-Error-Type': errorType,
      'Lambda-Runtime-Function-Error-Body': body,
    });
  from.on('end', () => {
    const errorType = from.trailers['lambda-runtime-function-error-type'];
    if (errorType) trailers(errorType, from.trailers['lambda-runtime-function-error-body'] ?? '');
    res.end();
  });
  from.on('close', () => {
    if (from.complete || res.writableEnded) return;
    const timeout = timedOut();
    if (!timeout) return void res.destroy();
    trailers('Sandbox.Timedout', timeout.toString('base64'));
    res.end();
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length });
  res.end(bytes);
}

function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** The host of a URL that reaches a server listening on `host`: a wildcard is reached on loopback. */
function urlHost(host = '127.0.0.1'): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  // An IPv6 address goes in brackets, or its colons read as the port's.
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
