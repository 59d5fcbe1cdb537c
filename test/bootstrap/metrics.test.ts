import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { openGate } from '../helpers/gate.js';
import { startGrpcRuntime } from '../helpers/grpc-runtime.js';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/postgres.js';
import { type RawAnswer, rawRequest } from '../reliability/hostile.js';

const stops: (() => Promise<unknown>)[] = [];
afterAll(() => Promise.all(stops.map((stop) => stop())));

const status = async (url: string, init: Parameters<typeof request>[1] = {}) => {
  const response = await request(url, init);
  await response.body.dump();
  return response.statusCode;
};

describe('metrics: what a Prometheus scrape shows after traffic', () => {
  it('HTTP mode counts invocations by outcome, their durations, and refusals by reason', async () => {
    const metricsPort = await freePort();
    const runtime = await startHttpRuntime('http/index.metered', {
      JUSTFN_METRICS_PORT: String(metricsPort),
      JUSTFN_TIMEOUT: '1',
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_QUEUE: '0',
    });
    stops.push(runtime.stop);
    for (let i = 0; i < 3; i++) expect(await status(`${runtime.url}/`)).toBe(200);
    expect(await status(`${runtime.url}/?fail`)).toBe(500);
    const hanging = status(`${runtime.url}/?ms=3000`);
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_invocations_in_flight')).toBe(1);
    expect(await status(`${runtime.url}/`)).toBe(503);
    expect(await hanging).toBe(504);
    const cloudEvent = {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
    } as const;
    expect(await status(`${runtime.url}/`, { ...cloudEvent, body: '{"specversion":"1.0"}' })).toBe(400);
    const xml = { method: 'POST', headers: { 'content-type': 'application/cloudevents+xml' } } as const;
    expect(await status(`${runtime.url}/`, { ...xml, body: '<event/>' })).toBe(415);

    const samples = await scrape(metricsPort);
    const series = (outcome: string) => `event="apigw-v2",outcome="${outcome}",method=""`;
    expect(samples.get(`justfn_invocations_total{${series('success')}}`)).toBe(3);
    expect(samples.get(`justfn_invocations_total{${series('error')}}`)).toBe(1);
    expect(samples.get(`justfn_invocations_total{${series('timeout')}}`)).toBe(1);
    const duration = (outcome: string, part: string) =>
      samples.get(`justfn_invocation_duration_seconds${part}{${series(outcome)}}`);
    const bucket = (outcome: string, le: string) =>
      samples.get(`justfn_invocation_duration_seconds_bucket{${series(outcome)},le="${le}"}`);
    expect(duration('success', '_count')).toBe(3);
    expect(duration('success', '_sum')).toBeGreaterThan(0);
    expect([bucket('success', '60'), bucket('success', '+Inf')]).toEqual([3, 3]);
    // Timed out at JUSTFN_TIMEOUT=1: at least a second, so not in the 0.5 s bucket; in the 60 s one however
    // slow the machine (the test times out first), where a duration counted in milliseconds (1000 and more)
    // would be in +Inf alone.
    expect([bucket('timeout', '0.5'), bucket('timeout', '60'), bucket('timeout', '+Inf')]).toEqual([0, 1, 1]);
    expect(duration('timeout', '_sum')).toBeGreaterThanOrEqual(1);
    expect(samples.get('justfn_requests_rejected_total{reason="overloaded"}')).toBe(1);
    expect(samples.get('justfn_requests_rejected_total{reason="bad_request"}')).toBe(1);
    expect(samples.get('justfn_requests_rejected_total{reason="unsupported_media_type"}')).toBe(1);
    expect(samples.get('justfn_cold_starts_total')).toBe(1);
    expect(samples.get('justfn_init_duration_seconds')).toBeGreaterThan(0);
    // The metrics port serves one path, read with GET (or HEAD); nothing else is there.
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    expect(await status(`${metricsUrl}/metrics`, { method: 'HEAD' })).toBe(200);
    const post = await request(`${metricsUrl}/metrics`, { method: 'POST', body: '' });
    await post.body.dump();
    expect([post.statusCode, post.headers.allow]).toEqual([405, 'GET, HEAD']);
    expect(await status(`${metricsUrl}/`)).toBe(404);
  });

  it('a queued request whose caller went away is dropped when its turn comes, not run', async () => {
    const metricsPort = await freePort();
    const runtime = await startHttpRuntime('http/index.metered', {
      JUSTFN_METRICS_PORT: String(metricsPort),
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_QUEUE: '5',
    });
    stops.push(runtime.stop);
    // The one slot is held until the caller behind it has gone, however long that takes to happen.
    const gate = await openGate();
    stops.push(gate.close);
    const busy = status(`${runtime.url}/?gate=${encodeURIComponent(gate.url)}`);
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_invocations_in_flight')).toBe(1);
    // Queued behind it, then given up on by its caller: the runtime's FIN in answer to the caller's shows
    // that it saw the caller go.
    const gaveUp = net.connect(runtime.port, '127.0.0.1');
    let received = '';
    gaveUp.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    await once(gaveUp, 'connect');
    gaveUp.write('GET /?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(async () => (await scrape(metricsPort)).get('justfn_queue_depth')).toBe(1);
    gaveUp.end();
    await once(gaveUp, 'close');
    const waits = status(`${runtime.url}/?ms=1`);
    gate.open();
    expect([await busy, received, await waits]).toEqual([200, '', 200]);
    const samples = await scrape(metricsPort);
    expect(samples.get('justfn_requests_rejected_total{reason="caller_gone"}')).toBe(1);
    expect(samples.get('justfn_invocations_total{event="apigw-v2",outcome="success",method=""}')).toBe(2);
  });

  it('a client that closes its connection in the middle of its request has gone: no answer, no refusal counted', async () => {
    const metricsPort = await freePort();
    const runtime = await startHttpRuntime('http/index.metered', {
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
    stops.push(runtime.stop);
    // A FIN (what a client's destroy() sends with nothing left to write) halfway through the body, and
    // halfway through the headers: an upload given up on, not a malformed request.
    const cut = [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc',
      'GET / HTTP/1.1\r\nHost: x\r\nX-Half: ',
    ];
    for (const bytes of cut) {
      const socket = net.connect(runtime.port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
      });
      socket.on('error', () => {});
      socket.end(bytes);
      await once(socket, 'close');
      expect(received).toBe('');
    }
    expect(await status(`${runtime.url}/`)).toBe(200);
    const samples = await scrape(metricsPort);
    expect(samples.get('justfn_requests_rejected_total{reason="bad_request"}')).toBeUndefined();
  });

  it('init duration and the cold start are counted once the process is ready, not before', async () => {
    const [metricsPort, originPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(path.join(tmpdir(), 'justfn-metrics-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'index.mjs'), 'export const handler = async () => ({ statusCode: 200 });\n');
    writeFileSync(
      path.join(dir, 'justfn.yaml'),
      `name: waits\nresources:\n  billing: { kind: http, origin: "http://127.0.0.1:${originPort}" }\n`,
    );
    const runtime = await startHttpRuntime('index.handler', {
      LAMBDA_TASK_ROOT: dir,
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
    stops.push(runtime.stop);
    await runtime.waitForLog((l) => l.resource === 'billing' && l.level === 'warn');
    const before = await scrape(metricsPort);
    expect([
      before.get('justfn_init_duration_seconds'),
      before.get('justfn_cold_starts_total'),
      before.get('justfn_resource_up{resource="billing",kind="http"}'),
    ]).toEqual([0, 0, 0]);
    const origin = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => origin.listen(originPort, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => origin.close(resolve)));
    await expect.poll(() => status(`${runtime.url}/_/health/ready`), { timeout: 15_000 }).toBe(200);
    const after = await scrape(metricsPort);
    expect(after.get('justfn_cold_starts_total')).toBe(1);
    expect(after.get('justfn_init_duration_seconds')).toBeGreaterThan(0);
  }, 30_000);

  it('a metrics port that is taken: one line naming it and the variable, and the function serves on', async () => {
    const holder = http.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    const taken = (holder.address() as import('node:net').AddressInfo).port;
    try {
      const runtime = await startHttpRuntime('http/index.metered', { JUSTFN_METRICS_PORT: String(taken) });
      stops.push(runtime.stop);
      const line = await runtime.waitForLog((l) => String(l.msg).startsWith('cannot serve metrics'));
      expect(line).toMatchObject({
        level: 'error',
        code: 'EADDRINUSE',
        msg: `cannot serve metrics on port ${taken}: port ${taken} is already in use; serving without them (JUSTFN_METRICS_PORT picks another port, 0 turns them off)`,
      });
      expect(line.err).toBeUndefined();
      expect(await status(`${runtime.url}/`)).toBe(200);
    } finally {
      holder.close();
    }
  });

  it('a client trickling its headers to the metrics port is answered 408 after 10 s, as on the main port', async () => {
    const metricsPort = await freePort();
    const runtime = await startHttpRuntime('http/index.metered', {
      JUSTFN_METRICS_PORT: String(metricsPort),
    });
    stops.push(runtime.stop);
    // The metrics port opens beside the function's, not before it.
    await expect.poll(() => status(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => 0)).toBe(200);
    // 10 bytes a second: the head would be whole after 25 s, inside Node's default 30 s check interval.
    const head = `GET /metrics HTTP/1.1\r\nhost: x\r\nx-slow: ${'s'.repeat(200)}\r\n\r\n`;
    const answer = await rawRequest(metricsPort, head, { chunkSize: 10, gapMs: 1_000 });
    expect(answer).not.toBe('reset');
    expect((answer as RawAnswer).status).toBe(408);
  }, 30_000);

  it('gRPC mode counts each call under its method', async () => {
    const metricsPort = await freePort();
    const runtime = await startGrpcRuntime({ JUSTFN_METRICS_PORT: String(metricsPort) });
    stops.push(runtime.stop);
    await runtime.unary('SayHello', { name: 'ada' });
    await runtime.unary('SayHello', { name: 'bob' });
    await runtime.unary('Fail', { how: 'status' }); // NOT_FOUND, thrown for the caller: an answer
    await runtime.unary('Fail', { how: 'other' });
    await runtime.unary('Fail', { how: 'unencodable' }); // fails after the handler returned
    // A request message that does not decode is refused before any invocation: counted as a bad request.
    const refused = await new Promise<grpc.ServiceError | null>((resolve) =>
      runtime.client.makeUnaryRequest(
        '/greet.v1.Greeter/SayHello',
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        Buffer.from([0x08, 0xff, 0xff, 0xff]), // a varint that never ends
        resolve,
      ),
    );
    expect(refused?.code).toBe(grpc.status.INVALID_ARGUMENT);

    const samples = await scrape(metricsPort);
    const series = (outcome: string, method: string) =>
      `event="grpc",outcome="${outcome}",method="${method}"`;
    expect(samples.get(`justfn_invocations_total{${series('success', 'SayHello')}}`)).toBe(2);
    expect(samples.get(`justfn_invocations_total{${series('error', 'Fail')}}`)).toBe(2);
    expect(samples.get(`justfn_invocations_total{${series('success', 'Fail')}}`)).toBe(1);
    expect(samples.get(`justfn_invocation_duration_seconds_count{${series('success', 'SayHello')}}`)).toBe(2);
    expect(samples.get('justfn_requests_rejected_total{reason="bad_request"}')).toBe(1);
  });
});
