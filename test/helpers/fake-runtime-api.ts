import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  trailers: NodeJS.Dict<string>;
}

export interface Scripted {
  /** JSON-encoded unless it is a Buffer. */
  event: unknown;
  requestId?: string;
  headers?: Record<string, string>;
}

/**
 * How to answer one request: a status (with RAPID's JSON body), a raw body (`cut`: the connection dropped
 * after the head and part of it), or a connection dropped before any answer.
 */
export type Answer =
  | number
  | { status: number; body: string; headers?: Record<string, string>; cut?: boolean }
  | 'reset';

export interface FakeRuntimeApiOptions {
  invocations?: Scripted[];
  /**
   * Decides the answer to each request (after it was read); default 202 for posts. A promise holds the
   * answer back until it resolves (a `/restore/next` that blocks across the snapshot).
   */
  answer?: (request: Recorded, index: number) => Answer | Promise<Answer> | undefined;
}

/**
 * A Runtime API whose every answer a test decides: scripted invocations on `/next` (then `/next` waits
 * forever), and any status, body or connection reset for the posts. It records every request, trailers
 * included, so tests assert on what went over the wire.
 */
export async function startFakeRuntimeApi(options: FakeRuntimeApiOptions = {}) {
  const queue = [...(options.invocations ?? [])];
  const requests: Recorded[] = [];
  const listeners: (() => void)[] = [];
  // RAPID's Go server takes 1 MiB of headers, an X-Ray error cause of up to 64 KiB among them.
  const server = http.createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        trailers: req.trailers,
      };
      const index = requests.push(recorded) - 1;
      for (const listener of listeners.splice(0)) listener();
      const scripted = options.answer?.(recorded, index);
      if (scripted instanceof Promise) return void scripted.then((answer) => send(res, answer));
      if (scripted !== undefined) return send(res, scripted);
      if (recorded.method === 'GET' && recorded.path.endsWith('/invocation/next')) {
        const next = queue.shift();
        if (!next) return; // long-poll forever, as RAPID does while no invoke comes
        const body = Buffer.isBuffer(next.event) ? next.event : Buffer.from(JSON.stringify(next.event));
        res.writeHead(200, {
          'content-type': 'application/json',
          'lambda-runtime-aws-request-id': next.requestId ?? randomUUID(),
          'lambda-runtime-deadline-ms': String(Date.now() + 30_000),
          'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:012345678912:function:fake',
          ...next.headers,
        });
        return res.end(body);
      }
      send(res, 202);
    });
  });
  server.keepAliveTimeout = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${port}`,
    requests,
    /** Adds invocations for the next `/next` calls. */
    push: (...more: Scripted[]) => queue.push(...more),
    /** Resolves when a recorded request matches. */
    waitFor(predicate: (request: Recorded) => boolean, timeoutMs = 10_000): Promise<Recorded> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching request; saw ${requests.map((r) => `${r.method} ${r.path}`).join(', ')}`,
              ),
            ),
          timeoutMs,
        );
        const check = () => {
          const found = requests.find(predicate);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else listeners.push(check);
        };
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, answer: Answer): void {
  if (answer === 'reset') {
    res.socket?.destroy();
    return;
  }
  const status = typeof answer === 'number' ? answer : answer.status;
  const body =
    typeof answer === 'number'
      ? JSON.stringify(
          status === 202 ? { status: 'OK' } : { errorMessage: `status ${status}`, errorType: 'Fake' },
        )
      : answer.body;
  const cut = typeof answer === 'object' && answer.cut === true;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body) + (cut ? 100 : 0),
    ...(typeof answer === 'object' ? answer.headers : {}),
  });
  if (!cut) return void res.end(body);
  res.write(body, () => res.socket?.destroy());
}
