import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowRuntimeApiOptions {
  /** How long `/next` waits before its headers. */
  headersAfterMs: number;
  /** The event, sent in `chunks` pieces, `chunkEveryMs` apart. */
  event: string;
  chunks: number;
  chunkEveryMs: number;
}

/**
 * A Runtime API that answers `/next` slowly — the headers late, then the event trickled in pieces — once,
 * then long-polls forever; it records every request. What a platform under pressure, or a process frozen
 * between `/next` and its answer, looks like from the runtime.
 */
export async function startSlowRuntimeApi(options: SlowRuntimeApiOptions) {
  const requests: { method: string; path: string; body: string }[] = [];
  let served = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        body: Buffer.concat(chunks).toString(),
      });
      if (req.method === 'POST') return res.writeHead(202).end('{"status":"OK"}');
      if (served) return; // long-poll forever
      served = true;
      await sleep(options.headersAfterMs);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(options.event),
        'lambda-runtime-aws-request-id': 'slow-1',
        'lambda-runtime-deadline-ms': String(Date.now() + 60_000),
      });
      const size = Math.ceil(options.event.length / options.chunks);
      for (let at = 0; at < options.event.length; at += size) {
        res.write(options.event.slice(at, at + size));
        await sleep(options.chunkEveryMs);
      }
      res.end();
    });
  });
  server.keepAliveTimeout = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
