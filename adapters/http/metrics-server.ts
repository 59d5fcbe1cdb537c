import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * `GET /metrics` on its own port (`JUSTFN_METRICS_PORT`): Prometheus scrapes it without going through the
 * function's port, its queue or its concurrency limit. The port opens at once; the registry (prom-client)
 * is asked for on the first scrape, so that it can load after the cold start.
 */
export async function startMetricsServer(
  registry: () => Promise<Registry>,
  port: number,
  host: string,
  /** How long a connection may send nothing, and a request take to arrive, before it is closed. */
  idleTimeoutMs: number,
) {
  // Node checks the two timeouts below every `connectionsCheckingInterval` (30 s by default): checked every
  // second, a client trickling its headers is closed after 10 s, not up to 40.
  const server = http.createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' })
        .end('/metrics is read with GET\n');
      return;
    }
    registry()
      .then(async (loaded) => [loaded.contentType, await loaded.metrics()])
      .then(
        ([contentType, text]) => res.writeHead(200, { 'content-type': contentType }).end(text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
  });
  // Bounded like the function's port: a connection that sends nothing, or a request that never ends,
  // would otherwise hold a file descriptor for ever (the port is reachable wherever Prometheus is).
  server.setTimeout(idleTimeoutMs);
  server.headersTimeout = idleTimeoutMs;
  server.requestTimeout = idleTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
