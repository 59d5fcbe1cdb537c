import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type HttpRuntime, startHttpRuntime } from '../helpers/http-runtime.js';
import { freePort } from '../helpers/postgres.js';
import { fixtures } from '../helpers/process.js';
import {
  expectAlive,
  expectNoLeak,
  expectRefusal,
  family,
  head,
  type RawAnswer,
  rawRequest,
  runs,
  secretEnv,
} from './hostile.js';

// Issue 6, point 4: hostile HTTP — huge or numerous headers, bodies just under and over the limit (with
// every way of framing them), slow clients trickling headers and bodies, and bytes that are not HTTP at
// all. Every one is served or refused with a 4xx in JSON; nothing is a 5xx (but the 501 for a transfer
// coding nobody here decodes, as nginx and Go answer it), nothing crashes the runtime.

const MAX_BODY = 4096;
let runtime: HttpRuntime;
beforeAll(async () => {
  runtime = await startHttpRuntime('http/index.echoEvent', {
    ...secretEnv,
    JUSTFN_MAX_BODY: String(MAX_BODY),
  });
});
afterAll(async () => {
  await expectAlive(runtime);
  await runtime.stop();
});

async function send(request: Buffer, options = {}): Promise<RawAnswer> {
  const answer = await rawRequest(runtime.port, request, options);
  if (typeof answer === 'string') throw new Error(`the connection was ${answer}, not answered`);
  return answer;
}

/** A 2xx from the echo handler, or the refusal named. */
function expectOutcome(answer: RawAnswer, status: number, message?: RegExp) {
  if (status < 400) {
    expect(answer.status, answer.body).toBe(status);
    expectNoLeak(answer);
  } else expectRefusal(answer, status, message);
}

describe('headers: huge and numerous', () => {
  const tried = family('HTTP headers, huge or numerous');
  const many = (count: number, size = 1): [string, string][] =>
    Array.from({ length: count }, (_, i) => [`x-h${i}`, 'v'.repeat(size)]);
  const bytesOf = (headers: [string, string][]) => head('GET', '/', headers).length;
  // Node counts the header bytes it parses (request line excluded) against 16 KiB.
  const filler = (total: number): [string, string][] => {
    const base = bytesOf([['x-fill', '']]);
    return [['x-fill', 'f'.repeat(total - base)]];
  };
  const cases: [string, [string, string][], number, RegExp?][] = [
    ['one header of 15 KiB', [['x-big', 'b'.repeat(15 * 1024)]], 200],
    [
      'one header of 17 KiB',
      [['x-big', 'b'.repeat(17 * 1024)]],
      431,
      /^request headers are larger than 16384 bytes$/,
    ],
    ['a header name of 17 KiB', [[`x-${'n'.repeat(17 * 1024)}`, 'v']], 431, /16384 bytes/],
    ['a request of 16 KiB of headers, less a little', filler(16 * 1024 - 64), 200],
    ['a request of 16 KiB of headers, and a little more', filler(16 * 1024 + 64), 431, /16384 bytes/],
    // With the request's own Host and Connection: 200 headers, then 201.
    ['200 headers', many(198), 200],
    ['201 headers', many(199), 431, /^the request has 201 headers; at most 200 are allowed$/],
    ['2,000 small headers', many(2_000), 431, /^the request has 2002 headers; at most 200 are allowed$/],
    ['5,000 small headers (over 16 KiB in all)', many(5_000), 431, /16384 bytes/],
    ['500 cookies', [['cookie', Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join('; ')]], 200],
    [
      '100 repeated x-same headers',
      Array.from({ length: 100 }, (): [string, string] => ['x-same', 'v']),
      200,
    ],
    ['a 10 KiB query string', [], 200],
  ];
  it.each(cases)('%s', async (name, headers, status, message) => {
    tried.tried();
    const path = name.includes('query') ? `/?q=${'q'.repeat(10 * 1024)}` : '/';
    expectOutcome(await send(head('GET', path, headers)), status, message);
  });
});

describe('bodies just under and over JUSTFN_MAX_BODY', () => {
  const tried = family('HTTP bodies around the limit');
  const chunked = (body: string) => `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const cases: [string, Buffer, number, RegExp?][] = [
    ['POST, Content-Length = limit', head('POST', '/', [], 'a'.repeat(MAX_BODY)), 200],
    [
      'POST, Content-Length = limit + 1',
      head('POST', '/', [], 'a'.repeat(MAX_BODY + 1)),
      413,
      /JUSTFN_MAX_BODY/,
    ],
    [
      'POST, chunked, limit',
      head('POST', '/', [['transfer-encoding', 'chunked']], chunked('a'.repeat(MAX_BODY))),
      200,
    ],
    [
      'POST, chunked, limit + 1',
      head('POST', '/', [['transfer-encoding', 'chunked']], chunked('a'.repeat(MAX_BODY + 1))),
      413,
      /JUSTFN_MAX_BODY/,
    ],
    ['GET with a body, limit', head('GET', '/', [], 'g'.repeat(MAX_BODY)), 200],
    ['GET with a body, limit + 1', head('GET', '/', [], 'g'.repeat(MAX_BODY + 1)), 413, /JUSTFN_MAX_BODY/],
    [
      'DELETE, chunked, limit + 1',
      head('DELETE', '/', [['transfer-encoding', 'chunked']], chunked('d'.repeat(MAX_BODY + 1))),
      413,
      /JUSTFN_MAX_BODY/,
    ],
    [
      'POST, Content-Length says 1 GiB',
      head('POST', '/', [['content-length', String(2 ** 30)]], 'x'),
      413,
      /JUSTFN_MAX_BODY/,
    ],
    [
      'POST, binary body at the limit',
      head('POST', '/', [['content-type', 'application/octet-stream']], Buffer.alloc(MAX_BODY, 0xff)),
      200,
    ],
    [
      'POST, Content-Length not a number',
      head('POST', '/', [['content-length', 'abc']], 'x'),
      400,
      /^malformed HTTP request$/,
    ],
    ['POST, negative Content-Length', head('POST', '/', [['content-length', '-1']], 'x'), 400],
    [
      'POST, two different Content-Lengths',
      head(
        'POST',
        '/',
        [
          ['content-length', '1'],
          ['content-length', '2'],
        ],
        'xy',
      ),
      400,
    ],
    [
      'POST, Content-Length and chunked (smuggling)',
      head(
        'POST',
        '/',
        [
          ['content-length', '4'],
          ['transfer-encoding', 'chunked'],
        ],
        chunked('abcd'),
      ),
      400,
    ],
    [
      'POST, a bad chunk size',
      head('POST', '/', [['transfer-encoding', 'chunked']], 'zz\r\nabc\r\n0\r\n\r\n'),
      400,
    ],
  ];
  it.each(cases)('%s', async (_name, request, status, message) => {
    tried.tried();
    expectOutcome(await send(request), status, message);
  });

  it.each([
    ['gzip, chunked', 501],
    ['Chunked', 200],
    ['deflate, chunked', 501],
    // Node's own refusals: chunked twice, and a last coding that is not chunked (RFC 9112 §6.3).
    ['chunked, chunked', 400],
    ['gzip', 400],
  ])('Transfer-Encoding: %s → %i', async (coding, status) => {
    tried.tried();
    const answer = await send(head('POST', '/', [['transfer-encoding', coding]], chunked('abc')));
    if (status !== 501) return expectOutcome(answer, status);
    // RFC 9112 §6.1: not decoded, so not passed on as if it were (the function would get gzip bytes).
    expect(answer.status, answer.body).toBe(501);
    expect(JSON.parse(answer.body)).toEqual({
      errorType: 'Request.UnsupportedTransferCoding',
      errorMessage: `the request's Transfer-Encoding is "${coding}": only chunked is supported`,
    });
    expectNoLeak(answer);
  });

  it.each([
    [
      'over the limit: the 413 at once, no 100 Continue inviting the body',
      MAX_BODY * 1000,
      /^HTTP\/1\.1 413 /,
    ],
    ['within it: 100 Continue, then the answer', 10, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /],
  ])('Expect: 100-continue, a Content-Length %s', async (_name, length, answer) => {
    tried.tried();
    const socket = net.connect(runtime.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      // The body only once the server asked for it, as a client that honours Expect does.
      if (received.startsWith('HTTP/1.1 100 ')) socket.end('x'.repeat(length));
    });
    socket.write(
      head('POST', '/', [
        ['content-type', 'text/plain'],
        ['content-length', String(length)],
        ['expect', '100-continue'],
      ]),
    );
    // Until the final answer's body begins (the test's own timeout bounds the wait).
    await expect.poll(() => /\r\n\r\n\{/.test(received), { timeout: 10_000, interval: 20 }).toBe(true);
    socket.destroy();
    expect(received).toMatch(answer);
  });
});

describe('slow clients', () => {
  const tried = family('HTTP slow clients');
  it('headers trickled a byte at a time, within the limit: served', async () => {
    tried.tried();
    const answer = await send(head('GET', '/slow', [['x-a', 'b']]), { chunkSize: 1, gapMs: 15 });
    expect(answer.status).toBe(200);
  });

  it('a body trickled in pieces, within the limit: served', async () => {
    tried.tried();
    const answer = await send(head('POST', '/slow', [], 'b'.repeat(1000)), { chunkSize: 100, gapMs: 150 });
    expect([answer.status, JSON.parse(answer.body).body]).toEqual([200, 'b'.repeat(1000)]);
  });

  it('headers never finished: 408 after the 10 s headers timeout, while others are served', async () => {
    const slow = Array.from({ length: 20 }, () => {
      tried.tried();
      // 10 bytes a second for 15 s: the head is never done before the timeout.
      return rawRequest(runtime.port, head('GET', '/', [['x-slow', 's'.repeat(200)]]), {
        chunkSize: 10,
        gapMs: 1_000,
      });
    });
    tried.tried();
    expect((await send(head('GET', '/', []))).status).toBe(200);
    for (const answer of await Promise.all(slow)) {
      expect(answer).not.toBe('reset');
      expectRefusal(answer as RawAnswer, 408, /^the request took too long to arrive$/);
      expect(JSON.parse((answer as RawAnswer).body).errorType).toBe('Request.Timeout');
    }
  }, 30_000);
});

describe('bodies that never finish', () => {
  // Its own instance, so the wait is 2 s rather than the default 120.
  const tried = family('HTTP slow clients');
  let slow: HttpRuntime;
  beforeAll(async () => {
    slow = await startHttpRuntime('http/index.echoEvent', { JUSTFN_BODY_TIMEOUT: '2' });
  });
  afterAll(async () => {
    await expectAlive(slow);
    await slow.stop();
  });
  const cases: [string, Buffer][] = [
    ['3 bytes of a 50-byte Content-Length', head('POST', '/', [['content-length', '50']], 'abc')],
    [
      'a chunked body without its last chunk',
      head('POST', '/', [['transfer-encoding', 'chunked']], '3\r\nabc\r\n'),
    ],
    ['a GET body cut short', head('GET', '/', [['content-length', '10']], 'x')],
  ];
  it.each(cases)(
    '%s: 408 after JUSTFN_BODY_TIMEOUT, while others are served',
    async (_name, request) => {
      tried.tried();
      const pending = rawRequest(slow.port, request);
      const other = await rawRequest(slow.port, head('GET', '/', []));
      expect((other as RawAnswer).status).toBe(200);
      const answer = await pending;
      expect(answer).not.toBe('reset');
      expectRefusal(answer as RawAnswer, 408, /^the request took too long to arrive$/);
    },
    15_000,
  );
});

describe('request targets that name no resource of the function', () => {
  const tried = family('HTTP request targets');
  it.each([
    ['GET', '*', /^the request target \* names the server, not a resource$/],
    ['OPTIONS', '*', /^the request target \* names the server, not a resource$/],
    ['GET', 'http://evil.example/echo', /^an absolute request target's host must be its Host header$/],
    ['GET', '/echo#fragment', /^the request target has a fragment \(#\.\.\.\), which is never sent$/],
  ])('%s %s: 400 naming it', async (method, target, message) => {
    tried.tried();
    expectRefusal(await send(head(method, target, [])), 400, message);
  });

  it('an absolute target naming its own Host is served as its path', async () => {
    tried.tried();
    const answer = await send(head('GET', 'http://justfn.test/echo?x=1', []));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ rawPath: '/echo', rawQueryString: 'x=1' });
  });
});

describe('connections that take without giving', () => {
  // Its own instance with a 2 s body timeout, which bounds the headers timeout too.
  let slow: HttpRuntime;
  let metricsPort: number;
  beforeAll(async () => {
    metricsPort = await freePort();
    slow = await startHttpRuntime('http/index.echoEvent', {
      JUSTFN_BODY_TIMEOUT: '2',
      JUSTFN_MAX_BODY: String(MAX_BODY),
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
  });
  afterAll(async () => {
    await expectAlive(slow);
    await slow.stop();
  });

  it.each([
    ['the function port', 'nothing', ''],
    ['the metrics port', 'nothing', ''],
    ['the metrics port', 'half a request line', 'GET /metr'],
  ])(
    'a connection to %s that sends %s is closed after the headers timeout',
    async (port, _, bytes) => {
      const socket = net.connect(port === 'the function port' ? slow.port : metricsPort, '127.0.0.1');
      socket.resume();
      await once(socket, 'connect');
      socket.write(bytes);
      const started = Date.now();
      await once(socket, 'close');
      // Closed by the server (the test's own timeout is 15 s), not kept for ever.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    },
    15_000,
  );

  it('a body far over JUSTFN_MAX_BODY: the 413 arrives and the connection closes, the rest unread', async () => {
    const socket = net.connect(slow.port, '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.on('error', () => {}); // EPIPE / ECONNRESET once the server has closed
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(head('POST', '/', [['content-length', String(4e9)]]));
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    while (!socket.destroyed && written < 256 * 1024 * 1024) {
      written += chunk.length;
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
      // As a client's own loop would: its reads get their turn. A loop that never yields (writes the
      // kernel takes at once) would meet the server's close on a write, and Node drops a socket whose
      // write fails before reading what had arrived: the 413 would be lost by the test, not the server.
      else await new Promise((r) => setImmediate(r));
    }
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413 [^\r]*\r\n/);
    expect(answer.toLowerCase()).toContain('connection: close');
    // Read no further than the 413 (and the kernel's buffers).
    expect(written).toBeLessThan(64 * 1024 * 1024);
  }, 15_000);

  it('uploads far over JUSTFN_MAX_BODY from undici, with a length or chunked: every one is answered 413', async () => {
    // A socket closed with the body's bytes unread resets, and the reset dropped the 413 undici had not
    // read yet: a third to two thirds of these uploads failed with EPIPE before the lingering close.
    const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
    async function* chunked() {
      for (let offset = 0; offset < body.length; offset += 16 * 1024)
        yield body.subarray(offset, offset + 16 * 1024);
    }
    const answers: (number | string)[] = [];
    for (let i = 0; i < 30; i++) {
      try {
        const response = await request(`${slow.url}/`, {
          method: 'POST',
          body: i % 2 ? body : Readable.from(chunked()),
        });
        const text = await response.body.text();
        answers.push(response.statusCode === 413 && text.includes('Request.PayloadTooLarge') ? 413 : text);
      } catch (error) {
        answers.push((error as { code?: string }).code ?? String(error));
      }
    }
    expect(answers).toEqual(Array(30).fill(413));
  }, 30_000);
});

describe('the lingering close after a 413', () => {
  it('reads at most 8 MiB more of a body that keeps coming as fast as the client can send it', async () => {
    const runtime = await startHttpRuntime('http/index.echoEvent', {
      JUSTFN_MAX_BODY: String(MAX_BODY),
      NODE_OPTIONS: `--require ${path.join(fixtures, 'reliability/preload/bytes-read.cjs')}`,
    });
    try {
      // Half-open as a client still sending is: the server's FIN does not end the upload.
      const socket = net.connect({ port: runtime.port, host: '127.0.0.1', allowHalfOpen: true });
      await once(socket, 'connect');
      socket.resume();
      socket.on('error', () => {}); // ECONNRESET once the server has had enough
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.write(head('POST', '/', [['transfer-encoding', 'chunked']]));
      const chunk = Buffer.concat([
        Buffer.from('10000\r\n'),
        Buffer.alloc(64 * 1024, 0x61),
        Buffer.from('\r\n'),
      ]);
      for (let sent = 0; !socket.destroyed && sent < 256 * 1024 * 1024; sent += chunk.length) {
        if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
      }
      await closed;
      const read = await vi.waitUntil(() => runtime.process.stderr().match(/bytesRead (\d+)/)?.[1]);
      // The body up to the limit, then 8 MiB and at most a chunk or two more.
      expect(Number(read)).toBeLessThan(8 * 1024 * 1024 + 256 * 1024);
    } finally {
      await runtime.stop();
    }
  }, 15_000);
});

describe('bytes that are not HTTP', () => {
  const tried = family('HTTP framing garbage');
  it('an HTTP/1.1 request without Host: 400 in JSON, as every refusal (HTTP/1.0 needs none)', async () => {
    tried.tried();
    const refused = await send(Buffer.from('GET / HTTP/1.1\r\n\r\n', 'latin1'));
    expectRefusal(refused, 400, 'an HTTP/1.1 request needs a Host header');
    const old = await send(Buffer.from('GET / HTTP/1.0\r\n\r\n', 'latin1'));
    expect(old.status).toBe(200);
  });

  it('random bytes, and request lines with random parts: a 4xx or a closed connection, never a 5xx', async () => {
    const line = fc
      .tuple(
        fc.constantFrom('GET', 'POST', 'PUT', 'G ET', 'get', '', 'CONNECT', 'PRI', 'X'.repeat(40)),
        fc.string({ unit: 'binary-ascii', maxLength: 40 }),
        fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'http/1.1', ''),
      )
      .map(([method, path, version]) =>
        Buffer.from(`${method} ${path} ${version}\r\nHost: x\r\nConnection: close\r\n\r\n`, 'latin1'),
      );
    const garbage = fc
      .uint8Array({ minLength: 1, maxLength: 300 })
      .map((b) => Buffer.concat([Buffer.from(b), Buffer.from('\r\n\r\n')]));
    await fc.assert(
      fc.asyncProperty(fc.oneof(line, garbage), async (bytes) => {
        tried.tried();
        const answer = await rawRequest(runtime.port, bytes);
        if (typeof answer === 'string') return;
        expect(answer.status, answer.body).toBeLessThan(500);
        expectNoLeak(answer);
      }),
      { numRuns: runs(100) },
    );
    await expectAlive(runtime);
  });
});
