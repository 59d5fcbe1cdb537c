import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { type HttpRuntime, startHttpRuntime } from '../../helpers/http-runtime.js';
import { scrape } from '../../helpers/metrics.js';
import { freePort } from '../../helpers/postgres.js';
import { fixtures } from '../../helpers/process.js';

const started: HttpRuntime[] = [];
afterAll(() => Promise.all(started.map((r) => r.stop())));

async function serve(handler: string, env: Record<string, string> = {}) {
  const runtime = await startHttpRuntime(`http/index.${handler}`, env);
  started.push(runtime);
  return runtime;
}

async function get(runtime: HttpRuntime, path: string, init: Parameters<typeof request>[1] = {}) {
  const response = await request(`${runtime.url}${path}`, init);
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

describe('HTTP mode: plain requests are API Gateway events', () => {
  it('a GET becomes a payload 2.0 event and the response follows the handler', async () => {
    const runtime = await serve('echoEvent');
    const reply = await get(runtime, '/users/42?x=1&x=2&y=%20z', {
      headers: { 'x-custom': 'A', cookie: 'a=1; b=2', 'user-agent': 'tests/1' },
    });
    expect(reply.status).toBe(200);
    const event = JSON.parse(reply.text);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/users/42',
      rawQueryString: 'x=1&x=2&y=%20z',
      queryStringParameters: { x: '1,2', y: ' z' },
      cookies: ['a=1', 'b=2'],
      headers: { 'x-custom': 'A', 'user-agent': 'tests/1' },
      requestContext: {
        http: { method: 'GET', path: '/users/42', sourceIp: '127.0.0.1', userAgent: 'tests/1' },
      },
      isBase64Encoded: false,
    });
    expect(event.requestContext.requestId).toBe(reply.headers['x-request-id']);
    expect(event.requestContext.authorizer).toBeUndefined();
  });

  it('no client header forges the authorizer or identity', async () => {
    const runtime = await serve('echoEvent', { JUSTFN_HTTP_EVENT: 'apigw-v1' });
    const reply = await get(runtime, '/', {
      headers: {
        'x-amzn-oidc-data': 'forged',
        'x-apigateway-event': '{"requestContext":{"authorizer":{"claims":{"sub":"admin"}}}}',
        'x-forwarded-for': '10.0.0.1',
      },
    });
    const event = JSON.parse(reply.text);
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(event.requestContext.identity.sourceIp).toBe('127.0.0.1');
    expect(event.requestContext.identity.cognitoIdentityId).toBeNull();
  });

  it('a binary body arrives base64-encoded; a textual one as text', async () => {
    const runtime = await serve('echoEvent');
    const binary = JSON.parse(
      (
        await get(runtime, '/', {
          method: 'POST',
          body: Buffer.from([0, 1, 2, 255]),
          headers: { 'content-type': 'image/png' },
        })
      ).text,
    );
    expect([binary.isBase64Encoded, binary.body]).toEqual([true, 'AAEC/w==']);
    const text = JSON.parse(
      (
        await get(runtime, '/', {
          method: 'POST',
          body: '{"a":1}',
          headers: { 'content-type': 'application/json' },
        })
      ).text,
    );
    expect([text.isBase64Encoded, text.body]).toEqual([false, '{"a":1}']);
  });

  it('status, headers and one Set-Cookie per cookie come from the result; a value is 200 JSON', async () => {
    const runtime = await serve('status');
    const reply = await get(runtime, '/?code=201');
    expect(reply.status).toBe(201);
    expect(reply.headers['x-handler']).toBe('yes');
    expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
    const shorthand = await serve('shorthand');
    const value = await get(shorthand, '/p?q=1');
    expect([value.status, value.headers['content-type'], JSON.parse(value.text)]).toEqual([
      200,
      'application/json',
      { path: '/p', query: { q: '1' } },
    ]);
  });

  it('what fastify alone would refuse reaches the function: other methods, undecodable paths, odd types', async () => {
    const runtime = await serve('echoEvent');
    const event = async (path: string, init: Parameters<typeof request>[1]) => {
      const reply = await get(runtime, path, init);
      expect(reply.status, reply.text).toBe(200);
      const received = JSON.parse(reply.text);
      const body = received.isBase64Encoded ? Buffer.from(received.body, 'base64').toString() : received.body;
      return { method: received.requestContext.http.method, rawPath: received.rawPath, body };
    };
    for (const method of ['PROPFIND', 'MKCOL', 'SEARCH', 'PURGE', 'M-SEARCH']) {
      expect(await event('/dav', { method: method as 'GET', body: 'abc' })).toEqual({
        method,
        rawPath: '/dav',
        body: 'abc',
      });
    }
    expect(await event('/files/%zz/%E9', {})).toMatchObject({ rawPath: '/files/%zz/%E9' });
    for (const type of ['json', 'text', 'a/b c']) {
      const init = { method: 'POST' as const, body: 'x', headers: { 'content-type': type } };
      expect(await event('/typed', init)).toEqual({ method: 'POST', rawPath: '/typed', body: 'x' });
    }
    expect(await event('/q', { method: 'QUERY' as 'GET', body: 'q' })).toMatchObject({
      method: 'QUERY',
      body: 'q',
    });
    const reserved: [string, string][] = [
      ['PROPFIND', '/_/health/live'],
      ['GET', '/_/%zz'],
    ];
    for (const [method, path] of reserved) {
      const reply = await get(runtime, path, { method: method as 'GET' });
      expect([reply.status, JSON.parse(reply.text).errorType]).toEqual([404, 'Request.NotFound']);
    }
  });

  it('a 1xx result is refused (502), a 205 and a 304 go without their body, a result JSON cannot hold is a 500', async () => {
    const runtime = await serve('status');
    for (const code of [100, 101, 199]) {
      const reply = await get(runtime, `/?code=${code}`);
      expect([reply.status, reply.text]).toEqual([502, '{"message":"Internal Server Error"}']);
    }
    // No content in a 204 or a 205: neither the body nor its type (a 205 says so with a zero length).
    const empty = await get(runtime, '/?code=204');
    expect([
      empty.status,
      empty.headers['content-type'],
      empty.headers['content-length'],
      empty.text,
    ]).toEqual([204, undefined, undefined, '']);
    const reset = await get(runtime, '/?code=205');
    expect([reset.status, reset.headers['content-length'], reset.text]).toEqual([205, '0', '']);
    expect(reset.headers['content-type']).toBeUndefined();
    // A 304's fields replace a cache's stored ones: only the handler's go out, no default type, no length
    // of the body it returned anyway.
    const notModified = await get(runtime, '/?code=304');
    expect(notModified.status).toBe(304);
    expect(notModified.headers['x-handler']).toBe('yes');
    expect(notModified.headers['content-type']).toBeUndefined();
    expect(notModified.headers['content-length']).toBeUndefined();
    expect((await get(runtime, '/?code=200')).text).toBe('status');
    const unstringifiable = await serve('unstringifiable');
    const reply = await get(unstringifiable, '/');
    expect([reply.status, reply.text]).toEqual([500, '{"message":"Internal Server Error"}']);
    const logged = await unstringifiable.waitForLog(
      (line) => line.requestId === reply.headers['x-request-id'],
    );
    expect(logged.errorType).toBe('Runtime.JSONStringifyError');
  });

  it('fills the context from Knative and the deadline from JUSTFN_TIMEOUT', async () => {
    const runtime = await serve('contextInfo', {
      K_SERVICE: 'users',
      K_REVISION: 'users-00007',
      JUSTFN_TIMEOUT: '3600',
    });
    const context = JSON.parse((await get(runtime, '/')).text);
    expect(context).toMatchObject({ functionName: 'users', functionVersion: 'users-00007' });
    // An hour in milliseconds, less the moments the request took: ten minutes of margin, where the 300 s
    // default (or seconds for milliseconds) is far off.
    expect(context.remaining).toBeGreaterThan(3_000_000);
    expect(context.remaining).toBeLessThanOrEqual(3_600_000);
  });

  // HTTP mode asked for by name where Lambda set a Runtime API (the image behind a web adapter extension):
  // AWS_LAMBDA_EXEC_WRAPPER is Lambda mode's, and HTTP mode starts Node itself.
  it('JUSTFN_MODE=http ignores AWS_LAMBDA_EXEC_WRAPPER, with a Runtime API set too', async () => {
    const runtime = await startHttpRuntime('wrapped/index.handler', {
      JUSTFN_MODE: 'http',
      AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9',
      AWS_LAMBDA_EXEC_WRAPPER: path.join(fixtures, 'exec-wrapper', 'wrapper'),
    });
    started.push(runtime);
    expect(JSON.parse((await get(runtime, '/')).text)).toMatchObject({
      argumentsGiven: 'unset',
      preloaded: false,
    });
  });
});

describe('HTTP mode: errors tell the caller little and the log everything', () => {
  it('a function error is a bare 500; the log line has the whole error and the request id', async () => {
    const runtime = await serve('fail');
    const reply = await get(runtime, '/');
    expect([reply.status, reply.text]).toEqual([500, '{"message":"Internal Server Error"}']);
    expect(reply.text).not.toContain('hunter2');
    const line = await runtime.waitForLog((l) => l.msg === 'Invoke Error');
    expect(line).toMatchObject({
      requestId: reply.headers['x-request-id'],
      errorType: 'TypeError',
      level: 'error',
    });
    expect((line.err as { message: string; stack: string }).stack).toMatch(
      /TypeError: database password is hunter2\n\s+at /,
    );
  });

  it("a result is read as the JSON Lambda sends: a Date header, a string statusCode; the handler's x-request-id kept", async () => {
    const runtime = await serve('sentAsJson');
    const response = await request(`${runtime.url}/`);
    expect(await response.body.text()).toBe('made');
    expect(response.statusCode).toBe(201);
    expect(response.headers).toMatchObject({
      expires: '1970-01-01T00:00:00.000Z',
      'x-request-id': 'from-the-handler',
      'set-cookie': 'a=1',
    });
  });

  it.each([
    [
      'that is no Error: the log line shows it whole, as Node renders it',
      'failWithObject',
      "{ reason: 'quota', left: 0 }",
    ],
    [
      'whose rendering throws: still a 500 and a log line, without its rendering',
      'failWithHostileObject',
      undefined,
    ],
  ])('a thrown object %s', async (_what, fixture, rendered) => {
    const runtime = await serve(fixture);
    const reply = await get(runtime, '/');
    expect(reply.status).toBe(500);
    const line = await runtime.waitForLog((l) => l.msg === 'Invoke Error');
    expect(line).toMatchObject({ errorType: 'object', errorMessage: '[object Object]' });
    expect(line.thrown).toBe(rendered);
  });

  it('JUSTFN_EXPOSE_ERRORS=1 returns the error payload', async () => {
    const runtime = await serve('fail', { JUSTFN_EXPOSE_ERRORS: '1' });
    const reply = await get(runtime, '/');
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.text)).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'database password is hunter2',
    });
  });

  it('past JUSTFN_TIMEOUT: 504, and context.signal aborted', async () => {
    const runtime = await serve('hang', { JUSTFN_TIMEOUT: '1' });
    const reply = await get(runtime, '/');
    expect([reply.status, reply.text]).toEqual([504, '{"message":"Endpoint request timed out"}']);
    await runtime.waitForLog((l) => l.msg === 'aborted: Sandbox.Timedout');
  });

  it("at the deadline, each abort listener's line carries its own request id", async () => {
    // Twelve, 7 ms apart, share batches of deadline timers, each batch armed while one of them ran.
    const runtime = await serve('hangHears', { JUSTFN_TIMEOUT: '1' });
    const replies = await Promise.all(
      Array.from({ length: 12 }, async (_, n) => {
        await new Promise((resolve) => setTimeout(resolve, n * 7));
        return get(runtime, '/');
      }),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(12).fill(504));
    const heard = () => runtime.logs().filter((l) => String(l.msg).startsWith('abort heard by'));
    await runtime.waitForLog(() => heard().length === 12);
    for (const line of heard()) expect(line.requestId).toBe(String(line.msg).split(' ')[3]);
  });

  it('warns at start when the invoke endpoint or error details are on for every caller, not on loopback', async () => {
    const risky = { JUSTFN_INVOKE_API: '1', JUSTFN_EXPOSE_ERRORS: '1' };
    const open = await serve('slow', { ...risky, JUSTFN_HOST: '0.0.0.0' });
    const warnings = () =>
      open
        .logs()
        .filter((l) => l.level === 'warn')
        .map((l) => l.msg);
    await open.waitForLog(() => warnings().length === 2);
    expect(warnings()).toEqual([
      'JUSTFN_INVOKE_API=1 serves the raw invoke endpoint to every caller on 0.0.0.0: for local work only',
      'JUSTFN_EXPOSE_ERRORS=1 puts error messages and stacks in answers to every caller on 0.0.0.0: for local work only',
    ]);
    const local = await serve('slow', risky);
    expect((await get(local, '/?ms=1')).status).toBe(200);
    expect(local.logs().filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('pipelined requests that wait for a slot are all answered, in order', async () => {
    const runtime = await serve('slow', { JUSTFN_CONCURRENCY: '1', JUSTFN_QUEUE: '5' });
    const socket = net.connect(runtime.port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    const request = (ms: number, close = false) =>
      `GET /?ms=${ms} HTTP/1.1\r\nHost: justfn.test\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
    socket.write(request(100) + request(1) + request(1, true));
    await new Promise((resolve) => socket.once('close', resolve));
    const bodies = [...received.matchAll(/"slept":(\d+)/g)].map((m) => Number(m[1]));
    expect(bodies).toEqual([100, 1, 1]);
  });

  it('a handler that runs on past its 504 keeps its slot until it returns: JUSTFN_CONCURRENCY holds', async () => {
    const runtime = await serve('slow', {
      JUSTFN_TIMEOUT: '1',
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_QUEUE: '0',
    });
    // `slow` ignores context.signal: it sleeps 2.5 s whatever its deadline says.
    expect((await get(runtime, '/?ms=2500')).status).toBe(504);
    const next = await get(runtime, '/?ms=1');
    expect([next.status, JSON.parse(next.text).errorType]).toEqual([503, 'Runtime.Overloaded']);
    // Every slot held past its deadline: not ready, so that traffic goes elsewhere meanwhile.
    const ready = await get(runtime, '/_/health/ready');
    expect([ready.status, JSON.parse(ready.text).reasons]).toEqual([
      503,
      ['every slot is held by a handler running past its deadline'],
    ]);
    // Once it has returned, its slot serves again.
    await expect.poll(async () => (await get(runtime, '/?ms=1')).status, { timeout: 5_000 }).toBe(200);
    expect((await get(runtime, '/_/health/ready')).status).toBe(200);
  });

  it('every slot held past its deadline for JUSTFN_TIMEOUT again: not live, so that a restart frees them; live once one returns', async () => {
    const runtime = await serve('slow', { JUSTFN_TIMEOUT: '2', JUSTFN_CONCURRENCY: '1', JUSTFN_QUEUE: '0' });
    const overrun = get(runtime, '/?ms=8000'); // 504 at 2 s, its slot held until 8 s
    expect((await overrun).status).toBe(504);
    // Held past its deadline, but not yet for the timeout again (4 s from the start): still live.
    expect((await get(runtime, '/_/health/live')).status).toBe(200);
    await expect
      .poll(async () => (await get(runtime, '/_/health/live')).status, { timeout: 6_000 })
      .toBe(503);
    expect(JSON.parse((await get(runtime, '/_/health/live')).text)).toEqual({
      status: 'not live',
      reasons: ['every slot has been held by a handler past its deadline for over 2 s'],
    });
    await expect
      .poll(async () => (await get(runtime, '/_/health/live')).status, { timeout: 10_000 })
      .toBe(200);
  }, 20_000);

  it('a request waiting for a slot is answered 504 at its own deadline, not when an overrunning handler frees it', async () => {
    const metricsPort = await freePort();
    const runtime = await serve('slow', {
      JUSTFN_TIMEOUT: '1',
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_QUEUE: '5',
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
    // The first runs on for an hour past its 1 s deadline, holding the only slot for longer than the test
    // may run: an answer to the one waiting behind it can only come from that one's own deadline.
    const first = get(runtime, '/?ms=3600000');
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_invocations_in_flight')).toBe(1);
    const waiting = await get(runtime, '/?ms=1');
    expect(waiting.status).toBe(504);
    const line = await runtime.waitForLog(
      (l) => l.requestId === waiting.headers['x-request-id'] && l.msg === 'Invoke Timeout',
    );
    expect(line.errorMessage).toBe('Task timed out before it started: its deadline passed while it waited');
    expect((await first).status).toBe(504);
  });

  it('a request that waited for its slot and then timed out: the log names JUSTFN_TIMEOUT, not what was left', async () => {
    const metricsPort = await freePort();
    const runtime = await serve('slow', {
      JUSTFN_TIMEOUT: '2',
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_QUEUE: '1',
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
    const first = get(runtime, '/?ms=1000');
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_invocations_in_flight')).toBe(1);
    // Starts about a second after it arrived, with a second of its two left, and sleeps three.
    const second = await get(runtime, '/?ms=3000');
    expect([(await first).status, second.status]).toEqual([200, 504]);
    const line = await runtime.waitForLog(
      (l) => l.requestId === second.headers['x-request-id'] && l.msg === 'Invoke Timeout',
    );
    expect(line).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 2.00 seconds',
    });
    expect(line.err).toBeUndefined();
  });

  it('a body over JUSTFN_MAX_BODY is a 413 naming the limit', async () => {
    const runtime = await serve('echoEvent', { JUSTFN_MAX_BODY: '1024' });
    const reply = await get(runtime, '/', { method: 'POST', body: 'x'.repeat(1025) });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.text)).toEqual({
      errorType: 'Request.PayloadTooLarge',
      errorMessage: 'the request body is larger than JUSTFN_MAX_BODY allows',
    });
    expect((await get(runtime, '/', { method: 'POST', body: 'x'.repeat(1024) })).status).toBe(200);
  });

  it('headers over 16 KiB are a 431', async () => {
    const runtime = await serve('echoEvent');
    const reply = await get(runtime, '/', { headers: { 'x-big': 'y'.repeat(17_000) } }).catch((e: Error) => ({
      status: 0,
      text: e.message,
    }));
    expect(reply.status).toBe(431);
  });

  it('more requests than concurrency plus queue: 503 with Retry-After, the rest succeed', async () => {
    const runtime = await serve('slow', { JUSTFN_CONCURRENCY: '2', JUSTFN_QUEUE: '3' });
    const replies = await Promise.all(Array.from({ length: 8 }, () => get(runtime, '/?ms=300')));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 503, 503, 503]);
    const refused = replies.find((r) => r.status === 503)!;
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.text)).toMatchObject({ errorType: 'Runtime.Overloaded' });
  });

  it('an unhandled rejection is logged with its error; the process keeps serving', async () => {
    const runtime = await serve('unhandled');
    expect((await get(runtime, '/')).status).toBe(200);
    await runtime.waitForLog((l) => l.msg === 'Unhandled Promise Rejection');
    expect((await get(runtime, '/')).status).toBe(200);
  });

  it('so is one whose reason cannot be made a string', async () => {
    const runtime = await serve('unhandledOdd');
    expect((await get(runtime, '/')).status).toBe(200);
    await runtime.waitForLog(
      (l) =>
        l.msg === 'Unhandled Promise Rejection' &&
        (l.err as { message?: string }).message === '[object Object]',
    );
    // Both rejections, however their lines come.
    await expect
      .poll(() => runtime.logs().filter((l) => l.msg === 'Unhandled Promise Rejection'))
      .toHaveLength(2);
    expect((await get(runtime, '/')).status).toBe(200);
  });
});

describe('HTTP mode: logs', () => {
  it('every console method writes JSON lines with the request id, console.dir included', async () => {
    const runtime = await serve('consoleKinds');
    const reply = await get(runtime, '/');
    const requestId = reply.headers['x-request-id'];
    await runtime.waitForLog((l) => String(l.msg).startsWith('t: '));
    const stdout = runtime.process.stdout().trim().split('\n');
    expect(
      stdout.every((line) => line.startsWith('{')),
      stdout.join('\n'),
    ).toBe(true);
    const lines = runtime.logs().filter((l) => l.requestId === requestId);
    expect(lines.map((l) => l.msg)).toEqual([
      '{ a: [Object] }',
      expect.stringContaining('│ (index) │'),
      'calls: 1',
      'Assertion failed: asserted',
      'dirxml',
      expect.stringMatching(/^t: [\d.]+m?s$/),
    ]);
  });

  it("JUSTFN_LOG_FORMAT=Text: console.dir is a line of Lambda's Text format with the request id, as the rest", async () => {
    const runtime = await serve('consoleKinds', { JUSTFN_LOG_FORMAT: 'Text' });
    const reply = await get(runtime, '/');
    const id = reply.headers['x-request-id'] as string;
    const stdout = runtime.process.stdout;
    await expect.poll(stdout, { timeout: 5_000 }).toMatch(/\tt: [\d.]+m?s\n/);
    expect(stdout()).toContain(`\t${id}\tINFO\t{ a: [Object] }\n`);
    expect(stdout()).toContain(`\t${id}\tINFO\tdirxml\n`);
  });

  it('console lines of concurrent invocations each carry their own request id', async () => {
    const runtime = await serve('logsConcurrently');
    const replies = await Promise.all(Array.from({ length: 10 }, (_, n) => get(runtime, `/?n=${n}`)));
    for (const reply of replies) {
      const n = reply.text;
      await runtime.waitForLog((l) => l.requestId === n && String(l.msg).startsWith('end'));
    }
    for (let n = 0; n < 10; n++) {
      const start = runtime.logs().find((l) => l.msg === `start ${n}`)!;
      const end = runtime.logs().find((l) => String(l.msg).startsWith(`end ${n} `))!;
      expect(end.requestId).toBe(start.requestId);
      expect(end.err).toMatchObject({ message: 'with an error' });
    }
  });
});

describe('HTTP mode: streaming', () => {
  it('streams chunked with the prelude status, headers and cookies', async () => {
    const runtime = await serve('stream');
    const response = await request(`${runtime.url}/`);
    expect(response.statusCode).toBe(206);
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.headers['content-type']).toBe('text/plain');
    expect(response.headers['x-streamed']).toBe('1');
    expect(response.headers['set-cookie']).toBe('s=1');
    expect(await response.body.text()).toBe('part0;part1;part2;');
  });

  it('a CloudEvent, alone or in a batch, is not answered by a stream: 500, the handler not called', async () => {
    // A reply is one whole CloudEvent; streamed bytes without ce- headers would be a 2xx Knative cannot
    // route, and a batch's events would all write to the one response.
    const runtime = await serve('stream');
    const event = { specversion: '1.0', id: '1', source: '/s', type: 't' };
    const single = await get(runtime, '/', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(event),
    });
    const batch = await get(runtime, '/', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([event, { ...event, id: '2' }]),
    });
    expect([single.status, single.text, batch.status]).toEqual([
      500,
      '{"message":"Internal Server Error"}',
      500,
    ]);
    // The log lines can trail the answers.
    await expect
      .poll(() =>
        runtime
          .logs()
          .filter((l) => l.msg === 'Invoke Error')
          .map((l) => l.errorType),
      )
      .toEqual(Array(3).fill('Runtime.MalformedStreamingHandler'));
  });

  const refused: [string, string][] = [
    ['controlChar', 'prelude.headers.x-a contains CR, LF or another character a header cannot carry'],
    ['beyondLatin1', 'prelude.headers.x-a contains CR, LF or another character a header cannot carry'],
    ['crlf', 'prelude.headers.x-a contains CR, LF or another character a header cannot carry'],
    ['badName', 'prelude.headers.x a: "x a" is not a valid header name'],
    ['cookie', 'cookies[0] contains CR, LF or another character a header cannot carry'],
    ['status700', 'statusCode must be an integer from 200 to 599, got number 700'],
    ['status100', 'statusCode must be an integer from 200 to 599, got number 100'],
    ['contentType', 'the content type contains CR, LF or another character a header cannot carry'],
  ];
  it.each(refused)(
    'a prelude the wire cannot carry (%s): a whole 502, nothing streamed',
    async (which, message) => {
      const runtime = await serve('streamPrelude');
      const reply = await get(runtime, `/?prelude=${which}`);
      expect(reply).toMatchObject({ status: 502, text: '{"message":"Internal Server Error"}' });
      expect(reply.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(reply.headers['x-evil']).toBeUndefined();
      const logged = await runtime.waitForLog((line) => line.requestId === reply.headers['x-request-id']);
      expect(logged).toMatchObject({ msg: 'Invoke Error', errorType: 'Runtime.MalformedResult' });
      expect((logged.err as { message: string }).message).toBe(message);
      expect((await get(runtime, '/?prelude=framing')).status).toBe(201);
    },
  );

  it('a client that goes away mid-stream: one info line, no Invoke Error with a stack', async () => {
    const runtime = await serve('slowStream');
    const response = await request(`${runtime.url}/?n=100&ms=20`);
    await new Promise((resolve) => response.body.once('data', resolve));
    response.body.destroy();
    const line = await runtime.waitForLog((l) => l.msg === 'Invoke ended after the client went away');
    expect(line).toMatchObject({
      level: 'info',
      errorType: 'Error',
      message: 'The client closed the connection',
    });
    expect(line.err).toBeUndefined();
    expect(runtime.logs().filter((l) => l.msg === 'Invoke Error')).toEqual([]);
  });

  it('a handler that fails mid-stream, its client still there: an Invoke Error with a stack', async () => {
    // The failure cuts the response itself (the only way left to say it): that cut is not the client's.
    const runtime = await serve('streamThrows');
    const response = await request(`${runtime.url}/`);
    await expect(response.body.text()).rejects.toThrow();
    const line = await runtime.waitForLog((l) => l.msg === 'Invoke Error');
    expect(line).toMatchObject({ level: 'error', errorType: 'TypeError' });
    expect((line.err as { stack?: string }).stack).toContain('failed after the first chunk');
    expect(runtime.logs().filter((l) => l.msg === 'Invoke ended after the client went away')).toEqual([]);
  });

  it('a prelude cannot set the framing headers: the body stays chunked', async () => {
    const runtime = await serve('streamPrelude');
    const response = await request(`${runtime.url}/?prelude=framing`);
    expect(response.statusCode).toBe(201);
    expect(response.headers).toMatchObject({ 'transfer-encoding': 'chunked', 'x-ok': '1' });
    expect(response.headers['content-length']).toBeUndefined();
    expect(await response.body.text()).toBe('streamed');
  });

  it('a streamed 204 goes out without a body or a content type for one', async () => {
    const runtime = await serve('streamPrelude');
    const response = await request(`${runtime.url}/?prelude=noContent`);
    expect(response.statusCode).toBe(204);
    expect(response.headers['x-ok']).toBe('1');
    expect(response.headers['content-type']).toBeUndefined();
    expect(await response.body.text()).toBe('');
  });
});

describe('HTTP mode: health and the invoke endpoint', () => {
  it('live and ready answer; other reserved paths are 404', async () => {
    const runtime = await serve('echoEvent');
    expect(await get(runtime, '/_/health/live')).toMatchObject({ status: 200 });
    expect(await get(runtime, '/_/health/ready')).toMatchObject({ status: 200, text: '{"status":"ready"}' });
    expect((await get(runtime, '/_/other')).status).toBe(404);
    // HEAD, as some probes and load balancers check: the status, no body.
    for (const path of ['/_/health/live', '/_/health/ready']) {
      expect(await get(runtime, path, { method: 'HEAD' })).toMatchObject({ status: 200, text: '' });
    }
  });

  it('the raw invoke endpoint is off by default: the path is just a request for the function', async () => {
    const runtime = await serve('echoEvent');
    const reply = await get(runtime, '/2015-03-31/functions/function/invocations', {
      method: 'POST',
      body: '{"requestContext":{"authorizer":{"claims":{"sub":"admin"}}}}',
    });
    const event = JSON.parse(reply.text);
    expect(event.rawPath).toBe('/2015-03-31/functions/function/invocations');
    expect(event.requestContext.authorizer).toBeUndefined();
  });

  it('JUSTFN_INVOKE_API=1 serves raw events as Lambda does', async () => {
    const runtime = await serve('echoEvent', { JUSTFN_INVOKE_API: '1' });
    const reply = await get(runtime, '/2015-03-31/functions/function/invocations', {
      method: 'POST',
      body: '{"raw":true}',
    });
    expect(JSON.parse(reply.text)).toEqual({ statusCode: 200, body: '{"raw":true}' });
    const failing = await serve('fail', { JUSTFN_INVOKE_API: '1' });
    const error = await get(failing, '/2015-03-31/functions/function/invocations', {
      method: 'POST',
      body: '{}',
    });
    expect([error.status, error.headers['x-amz-function-error']]).toEqual([200, 'Unhandled']);
    expect(JSON.parse(error.text)).toMatchObject({ errorType: 'TypeError' });
  });
});

describe('HTTP mode: memory after a quiet spell', () => {
  const majorCollections = async (port: number) =>
    (await scrape(port)).get('nodejs_gc_duration_seconds_count{kind="major"}') ?? 0;

  it('JUSTFN_IDLE_GC sets the quiet spell after which it collects (a major collection in the metrics)', async () => {
    const metricsPort = await freePort();
    const runtime = await serve('status', { JUSTFN_IDLE_GC: '1', JUSTFN_METRICS_PORT: String(metricsPort) });
    expect((await get(runtime, '/')).status).toBe(200);
    const before = await majorCollections(metricsPort);
    // After 1 s of quiet, not the default 10 s.
    await expect.poll(() => majorCollections(metricsPort), { timeout: 5_000 }).toBeGreaterThan(before);
  });
});
