import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { fixture } from './harness.js';

// The `http` kind as the runtime bundles it (undici's Pool and request API without the rest of undici),
// reached by a handler through the real bootstrap: each part of the API a handler calls must be there.

let upstream: Server;
const seen: string[] = [];
beforeAll(async () => {
  upstream = createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    if (request.url === '/echo') {
      request.pipe(response);
      return;
    }
    response.end(request.url === '/text' ? 'plain text' : 'ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise((resolve) => upstream.close(resolve)));

describe('http resource in Lambda mode', () => {
  it('is warmed during init and serves request() (JSON and Uint8Array bodies) and stream()', async () => {
    const { port } = upstream.address() as AddressInfo;
    const emulator = await startTestEmulator('index.handler', {
      taskRoot: fixture('http-resource'),
      env: { API_ORIGIN: `http://127.0.0.1:${port}` },
    });
    try {
      const reply = await emulator.invoke(JSON.stringify({ hello: 'upstream' }));
      expect(reply.headers['x-amz-function-error']).toBeUndefined();
      expect(JSON.parse(reply.text)).toEqual({
        status: 200,
        echoed: { hello: 'upstream' },
        bytesEchoed: 'bytes',
        streamed: '200:plain text',
      });
      expect(seen).toEqual(['GET /healthz', 'POST /echo', 'POST /echo', 'GET /text']);
    } finally {
      await emulator.close();
    }
  });
});
