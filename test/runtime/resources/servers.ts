import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadGrpcService } from '../../../runtime/resources/grpc.js';
import type { ResourceLog } from '../../../runtime/resources/resource.js';

export const protosDir = fileURLToPath(new URL('../../fixtures/protos/', import.meta.url));
export const greeterProto = `${protosDir}greeter.proto`;

/** A real gRPC server for `test.greeter.v1.Greeter` on 127.0.0.1; `port` 0 picks a free one. */
export async function startGreeter(port = 0) {
  const server = new grpc.Server();
  const { service } = loadGrpcService(greeterProto, 'test.greeter.v1.Greeter');
  let calls = 0;
  server.addService(service, {
    Hello: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, reply: grpc.sendUnaryData<unknown>) => {
      calls += 1;
      const caller = call.metadata.get('x-caller')[0];
      reply(null, { message: `hello ${call.request.name}${caller ? `, from ${caller}` : ''}` });
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  return {
    port: bound,
    target: `127.0.0.1:${bound}`,
    calls: () => calls,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    kill: () => server.forceShutdown(),
  };
}

export interface SeenRequest {
  method: string;
  path: string;
  userAgent: string | undefined;
}

/** A real HTTP server on 127.0.0.1 that records every request; `handle` may hold a response back. */
export async function startHttp(
  handle?: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  port = 0,
) {
  const requests: SeenRequest[] = [];
  const server = createServer(async (req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', userAgent: req.headers['user-agent'] });
    if (handle) await handle(req, res);
    if (!res.writableEnded) res.end('ok');
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${bound}`,
    requests,
    connections: () => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

/** A logger that keeps what it is given, to assert on log lines as data. */
export function captureLog() {
  const lines: LogLine[] = [];
  const waiting = new Set<() => void>();
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg = '') => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
      for (const wake of waiting) wake();
    };
  const log: ResourceLog = { info: at('info'), warn: at('warn'), error: at('error') };
  return {
    log,
    lines,
    text: () => lines.map((l) => `${l.level} ${JSON.stringify(l.obj)} ${l.msg}`).join('\n'),
    /** Resolves with the first line, logged before or after the call, for which `predicate` holds. */
    waitFor: (predicate: (line: LogLine) => boolean) =>
      new Promise<LogLine>((resolve) => {
        const wake = () => {
          const found = lines.find(predicate);
          if (!found) return;
          waiting.delete(wake);
          resolve(found);
        };
        waiting.add(wake);
        wake();
      }),
  };
}
