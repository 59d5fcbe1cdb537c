import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** RAPID's limit for a buffered response or an event: 6 MiB + 100 bytes (`RIE interop/model.go`). */
export const MAX_PAYLOAD = 6 * 1024 * 1024 + 100;

/** What an invocation ends with, as the invoke endpoint reports it. */
export type InvokeResult =
  | { kind: 'response'; body: Buffer; contentType: string }
  | { kind: 'stream'; response: http.IncomingMessage; contentType: string }
  | { kind: 'error'; body: Buffer; errorType: string }
  | { kind: 'init-error'; body: Buffer; errorType: string }
  | { kind: 'too-large' }
  | { kind: 'exit'; message: string }
  | { kind: 'timeout' };

export interface PendingInvoke {
  requestId: string;
  invocationId: string;
  event: Buffer;
  /** The function's time, which starts when a runtime takes the invocation. */
  timeoutMs: number;
  /** Set when the invocation is handed out: `Lambda-Runtime-Deadline-Ms`. */
  deadlineMs?: number;
  headers: Record<string, string>;
  settle(result: InvokeResult): void;
  /** Told when a runtime takes it (the emulator starts its timer there). */
  onDispatch?: () => void;
}

export interface RuntimeApiServerOptions {
  port?: number;
  /** Invocations handed out at once: 1 in classic mode, `AWS_LAMBDA_MAX_CONCURRENCY` on managed instances. */
  concurrency?: number;
  /** Serve `/restore/next` (SnapStart). */
  snapStart?: boolean;
  onInitError?: (body: Buffer, errorType: string) => void;
  onRestoreError?: (body: Buffer, errorType: string) => void;
  /** An extension registered: Lambda then ends the runtime with SIGTERM before SIGKILL. */
  onExtension?: () => void;
}

const API = '/2018-06-01/runtime';
const EXTENSION_API = '/2020-01-01/extension';
const STALE_IDS_KEPT = 1000;
/**
 * What RAPID's Go server takes in headers (net/http `DefaultMaxHeaderBytes`), not node:http's 16 KiB: an
 * `/error`'s X-Ray cause alone may be 64 KiB.
 */
const MAX_HEADER_BYTES = 1024 * 1024;

/**
 * A local Runtime API with RAPID's rules for one runtime process at a time: `/next` long-polls, one
 * answer per invocation, 400 for an unknown request id, 403 for a second answer, 410 for an answer to an
 * invocation that already timed out, 413 over 6 MiB. The emulator and the tests drive it.
 */
export async function startRuntimeApiServer(options: RuntimeApiServerOptions = {}) {
  const concurrency = options.concurrency ?? 1;
  const queue: PendingInvoke[] = [];
  const inflight = new Map<string, PendingInvoke>();
  const answered = new Map<string, 'answered' | 'timed-out'>();
  const waiters: http.ServerResponse[] = [];
  let nextCount = 0;
  let nextListeners: (() => void)[] = [];

  const remember = (requestId: string, how: 'answered' | 'timed-out') => {
    answered.set(requestId, how);
    if (answered.size > STALE_IDS_KEPT) answered.delete(answered.keys().next().value!);
  };

  const dispatch = () => {
    while (waiters.length > 0 && queue.length > 0 && inflight.size < concurrency) {
      const waiter = waiters.shift()!;
      if (waiter.destroyed) continue;
      const pending = queue.shift()!;
      inflight.set(pending.requestId, pending);
      pending.deadlineMs = Date.now() + pending.timeoutMs;
      pending.onDispatch?.();
      waiter.writeHead(200, {
        'content-type': 'application/json',
        'lambda-runtime-aws-request-id': pending.requestId,
        'lambda-runtime-deadline-ms': String(pending.deadlineMs),
        'lambda-runtime-invocation-id': pending.invocationId,
        ...pending.headers,
      });
      waiter.end(pending.event);
    }
  };

  const finish = (requestId: string, result: InvokeResult) => {
    const pending = inflight.get(requestId);
    if (!pending) return;
    inflight.delete(requestId);
    remember(requestId, result.kind === 'timeout' ? 'timed-out' : 'answered');
    pending.settle(result);
    dispatch();
  };

  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === `${API}/invocation/next`) {
      nextCount++;
      for (const listener of nextListeners) listener();
      nextListeners = [];
      waiters.push(res);
      res.on('close', () => {
        const at = waiters.indexOf(res);
        if (at !== -1) waiters.splice(at, 1);
      });
      dispatch();
      return;
    }
    if (req.method === 'GET' && url === `${API}/restore/next`) {
      if (!options.snapStart) return reply(res, 403, 'InvalidStateTransition', 'SnapStart is not enabled');
      return reply(res, 200);
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (req.method === 'POST' && match) {
      let requestId: string;
      try {
        requestId = decodeURIComponent(match[1]!);
      } catch {
        return drainThen(req, () => reply(res, 400, 'InvalidRequestID', 'Invalid request ID'));
      }
      const pending = inflight.get(requestId);
      if (!pending) {
        const how = answered.get(requestId);
        if (how === 'timed-out')
          return drainThen(req, () => reply(res, 410, 'InvokeTimeout', 'Invoke timed out'));
        if (how === 'answered') {
          return drainThen(req, () =>
            reply(res, 403, 'InvalidStateTransition', 'State transition is not allowed'),
          );
        }
        return drainThen(req, () => reply(res, 400, 'InvalidRequestID', 'Invalid request ID'));
      }
      if (match[2] === 'response' && req.headers['lambda-runtime-function-response-mode'] === 'streaming') {
        finish(requestId, {
          kind: 'stream',
          response: req,
          contentType: header(req, 'content-type') ?? 'application/octet-stream',
        });
        req.on('end', () => reply(res, 202));
        return;
      }
      readBody(req, MAX_PAYLOAD).then(
        (body) => {
          if (body === undefined) {
            finish(requestId, { kind: 'too-large' });
            return reply(
              res,
              413,
              'RequestEntityTooLarge',
              `Exceeded maximum allowed payload size (${MAX_PAYLOAD} bytes).`,
            );
          }
          if (match[2] === 'response') {
            finish(requestId, {
              kind: 'response',
              body,
              contentType: header(req, 'content-type') ?? 'application/json',
            });
          } else {
            finish(requestId, { kind: 'error', body, errorType: errorTypeOf(req, body) });
          }
          reply(res, 202);
        },
        () => res.destroy(),
      );
      return;
    }
    if (req.method === 'POST' && (url === `${API}/init/error` || url === `${API}/restore/error`)) {
      readBody(req, MAX_PAYLOAD).then((body = Buffer.alloc(0)) => {
        const errorType = errorTypeOf(req, body);
        if (url.endsWith('/init/error')) options.onInitError?.(body, errorType);
        else options.onRestoreError?.(body, errorType);
        reply(res, 202);
      });
      return;
    }
    // The Extensions API as far as a runtime uses it to ask for SIGTERM: register, then a next event
    // that never comes (events are not emulated).
    if (req.method === 'POST' && url === `${EXTENSION_API}/register`) {
      return drainThen(req, () => {
        options.onExtension?.();
        res.writeHead(200, {
          'content-type': 'application/json',
          'lambda-extension-identifier': randomUUID(),
        });
        res.end(JSON.stringify({ functionName: 'function', functionVersion: '$LATEST', handler: '' }));
      });
    }
    if (req.method === 'GET' && url === `${EXTENSION_API}/event/next`) {
      if (!header(req, 'lambda-extension-identifier')) {
        return reply(
          res,
          403,
          'Extension.MissingExtensionIdentifier',
          'Missing Lambda-Extension-Identifier header',
        );
      }
      return;
    }
    if (url === '/2018-06-01/ping') return reply(res, 200);
    drainThen(req, () => reply(res, 404, 'NotFound', `No such endpoint: ${req.method} ${url}`));
  });
  server.keepAliveTimeout = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    /** `AWS_LAMBDA_RUNTIME_API` for the runtime process. */
    address: `127.0.0.1:${port}`,
    /** Queues an invocation; `settle` is called once with how it ended. */
    enqueue(
      event: Buffer,
      timeoutMs: number,
      headers: Record<string, string>,
      settle: PendingInvoke['settle'],
      onDispatch?: () => void,
    ) {
      const pending: PendingInvoke = {
        requestId: randomUUID(),
        invocationId: randomUUID(),
        event,
        timeoutMs,
        headers,
        settle,
        ...(onDispatch ? { onDispatch } : {}),
      };
      queue.push(pending);
      dispatch();
      return pending;
    },
    /** Ends an invocation from outside: it timed out, or its runtime died. */
    abandon(requestId: string, result: InvokeResult) {
      const at = queue.findIndex((p) => p.requestId === requestId);
      if (at !== -1) {
        const [pending] = queue.splice(at, 1);
        remember(requestId, 'timed-out');
        pending!.settle(result);
        return;
      }
      finish(requestId, result);
    },
    inflight: () => [...inflight.values()],
    queued: () => [...queue],
    /** How many `/next` calls arrived so far: the first one means init is done. */
    nextCount: () => nextCount,
    onNext: (listener: () => void) => nextListeners.push(listener),
    /** Forgets parked `/next` calls of a runtime that died. */
    dropWaiters() {
      for (const waiter of waiters.splice(0)) waiter.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const waiter of waiters.splice(0)) waiter.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type RuntimeApiServer = Awaited<ReturnType<typeof startRuntimeApiServer>>;

function reply(res: http.ServerResponse, status: number, errorType?: string, errorMessage?: string): void {
  if (res.headersSent) return;
  const body =
    errorType === undefined ? JSON.stringify({ status: 'OK' }) : JSON.stringify({ errorMessage, errorType });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** RAPID keeps `Runtime.X` / `Function.X` error types and calls anything else Unknown. */
function errorTypeOf(req: http.IncomingMessage, body: Buffer): string {
  let errorType = header(req, 'lambda-runtime-function-error-type');
  if (errorType === undefined) {
    try {
      errorType = String(JSON.parse(body.toString('utf8')).errorType ?? '');
    } catch {
      errorType = '';
    }
  }
  if (/^(Runtime|Function)\.[A-Z][a-zA-Z]+$/.test(errorType)) return errorType;
  return errorType.startsWith('Function.') ? 'Function.Unknown' : 'Runtime.Unknown';
}

/** The body, or `undefined` when it is over `limit` (the rest is drained). */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function drainThen(req: http.IncomingMessage, then: () => void): void {
  req.resume();
  req.on('end', then);
}
