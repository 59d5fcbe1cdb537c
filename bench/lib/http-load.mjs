// HTTP clients for the HTTP suite: a probe that waits for a server's first answer (spawn → first 200), and
// load slices with autocannon, run inside the driver.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';

/**
 * Sends `request` to 127.0.0.1:`port` until an answer comes (a refused connection is retried after 1 ms,
 * so the start time it gives is within about a millisecond), and returns when it came, its status and body.
 * Gives up when `child` exits or after `timeoutMs`.
 *
 * @param {number} port
 * @param {{ method?: string, path?: string, headers?: Record<string, string>, body?: string }} request
 * @param {{ exited: Promise<unknown>, hasExited: () => boolean }} child
 */
export async function firstAnswer(port, request, child, timeoutMs = 20_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.hasExited()) throw new Error('exited before answering');
    if (performance.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms`);
    try {
      return await send(port, request);
    } catch (error) {
      // Not listening yet. Anything else (a reset, a hang-up) is retried too: a server may accept a
      // connection before it is ready to answer.
      if (error.code !== 'ECONNREFUSED' && error.code !== 'ECONNRESET') throw error;
      await sleep(1);
    }
  }
}

function send(port, { method = 'GET', path = '/', headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ at: performance.now(), status: res.statusCode, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Drives 127.0.0.1:`port` with autocannon for `ms` (`connections` keep-alive connections, each sending the
 * next request as soon as the last is answered) and returns the 2xx count and what went wrong. Autocannon
 * runs in the driver, so the driver must be on a core of its own (see pinDriverTo).
 */
export async function drive(port, request, { ms, connections }) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${request.path ?? '/'}`,
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.body,
    connections,
    duration: ms / 1000,
  });
  return {
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
