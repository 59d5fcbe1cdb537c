import { setImmediate } from 'node:timers/promises';
import type { Pool } from 'undici';
import type { HttpResourceConfig } from '../config/service-config.js';
import type { Resource, ResourceContext } from './resource.js';
import { Pool as UndiciPool } from './undici-pool.js';

/**
 * Pool options. An idle socket must be closed by us before the server or a load balancer closes it, or a
 * request can be written into a socket the peer has just closed: 4 s is under Node's own 5 s server
 * keep-alive, and the 50 s cap on server `Keep-Alive: timeout` hints is under the 60 s idle timeout of AWS
 * load balancers and nginx's 75 s (undici's default cap is 10 minutes).
 *
 * @example
 * new Pool('http://billing', { ...httpPoolOptions, connect: { timeout: 5000 } });
 */
export const httpPoolOptions = { keepAliveTimeout: 4_000, keepAliveMaxTimeout: 50_000 } as const;

/**
 * The limit on a response's headers: Node's default (`http.maxHeaderSize`), given so that undici does not
 * load node:http to read it, ~3 ms of every init with an `http` resource. `--max-http-header-size` does
 * not change it.
 */
const MAX_HEADER_SIZE = 16 * 1024;

/**
 * `kind: http`: an undici `Pool` for `origin`.
 *
 * - undici cannot pre-connect (nodejs/undici#317), so `open` and `check` send one real request,
 *   `GET <warm>` (default `/`), and read it to the end so the socket stays in the pool; any status counts
 *   as reachable.
 * - `refresh` (after a freeze) replaces the pool, so no socket from before the freeze is reused; the old
 *   pool is closed gracefully, letting requests still in flight finish.
 *
 * @example
 * const billing = createHttpResource({ kind: 'http', origin: 'http://billing', warm: '/healthz' }, context);
 * await billing.open(signal);
 * const { statusCode, body } = await billing.client.request({ method: 'GET', path: '/invoices' });
 */
export function createHttpResource(config: HttpResourceConfig, context: ResourceContext): Resource<Pool> {
  const { name, log, timeoutMs } = context;
  const connect = (): Pool =>
    new UndiciPool(config.origin, {
      ...httpPoolOptions,
      maxHeaderSize: MAX_HEADER_SIZE,
      connect: { timeout: timeoutMs },
    });
  let pool = connect();
  let closing: Promise<void> | undefined;

  const warm = async (signal: AbortSignal) => {
    const response = await pool.request({
      method: 'GET',
      path: config.warm,
      headers: { 'user-agent': 'justfn (warm-up)' },
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await response.body.dump();
    // undici frees the socket for the next request a tick after the body ends; without this, a request
    // made right after open() would open a second connection instead of reusing the warm one.
    await setImmediate();
  };

  return {
    get client() {
      return pool;
    },
    target: config.origin,
    open: warm,
    check: warm,
    refresh: async (signal) => {
      const stale = pool;
      pool = connect();
      stale.close().catch((error: Error) => {
        log.warn(
          { resource: name, kind: 'http', err: error.message },
          `resource '${name}': closing the old pool failed`,
        );
      });
      await warm(signal);
    },
    close: () => {
      closing ??= closePool(pool, timeoutMs);
      return closing;
    },
  };
}

/** Closes gracefully; destroys what is still open after `ms` (a request that never ends). */
async function closePool(pool: Pool, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, ms, 'late');
  });
  try {
    if ((await Promise.race([pool.close(), late])) === 'late') await pool.destroy();
  } finally {
    clearTimeout(timer);
  }
}
