import { once } from 'node:events';
import { Agent, Client, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startHttpRuntime } from '../../helpers/http-runtime.js';

describe('HTTP mode: SIGTERM drains', () => {
  it('50 requests in flight all complete with 200, new ones are refused, exit 0', async () => {
    const runtime = await startHttpRuntime('http/index.slow', { JUSTFN_DRAIN_TIMEOUT: '20' });
    const agent = new Agent({ connections: 60 });
    const inFlight = Array.from({ length: 50 }, () =>
      request(`${runtime.url}/?ms=600`, { dispatcher: agent }).then(async (r) => ({
        status: r.statusCode,
        body: await r.body.text(),
      })),
    );
    await runtime.waitForLog(() => false, 300).catch(() => {}); // let them all arrive
    runtime.process.child.kill('SIGTERM');
    await runtime.waitForLog((l) => l.msg === 'draining: finishing accepted requests');
    const refused = await request(`${runtime.url}/?ms=1`, { dispatcher: agent }).then(
      (r) => r.statusCode,
      (e: NodeJS.ErrnoException) => e.code ?? 'error',
    );
    expect([503, 'ECONNREFUSED', 'UND_ERR_SOCKET']).toContain(refused);
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(new Set(answers.map((a) => JSON.parse(a.body).id)).size).toBe(50);
    expect(await runtime.process.exited).toBe(0);
    await agent.close();
  });

  it('answers written during the drain close their connection, so a client does not reuse it', async () => {
    const runtime = await startHttpRuntime('http/index.slow', { JUSTFN_DRAIN_TIMEOUT: '20' });
    const agent = new Agent({ connections: 1 });
    const first = request(`${runtime.url}/?ms=600`, { dispatcher: agent });
    await runtime.waitForLog(() => false, 200).catch(() => {});
    runtime.process.child.kill('SIGTERM');
    await runtime.waitForLog((l) => l.msg === 'draining: finishing accepted requests');
    // Queued behind the first on the agent's one keep-alive connection: sent when that answer is in,
    // it would be lost on a connection the drain then closes. Told to close, the client opens a new
    // one, which the closed listener refuses: nothing was accepted, nothing lost.
    const second = request(`${runtime.url}/?ms=1`, { dispatcher: agent }).then(
      (r) => r.statusCode,
      (e: NodeJS.ErrnoException) => e.code,
    );
    const answer = await first;
    expect([answer.statusCode, answer.headers.connection]).toEqual([200, 'close']);
    await answer.body.text();
    expect(await second).toBe('ECONNREFUSED');
    expect(await runtime.process.exited).toBe(0);
    await agent.close();
  });

  it('past JUSTFN_DRAIN_TIMEOUT the requests still running are answered before the exit', async () => {
    const runtime = await startHttpRuntime('http/index.slow', { JUSTFN_DRAIN_TIMEOUT: '1' });
    const slow = request(`${runtime.url}/?ms=5000`).then((r) => r.statusCode);
    await runtime.waitForLog(() => false, 200).catch(() => {});
    runtime.process.child.kill('SIGTERM');
    expect(await slow).toBe(504);
    expect(await runtime.process.exited).toBe(0);
    // Answered by the drain: nothing is left for the exit to answer, and nothing to report as fatal.
    expect(runtime.logs().map((l) => [l.level, l.msg])).toEqual([
      ['info', expect.stringMatching(/^justfn is serving/)],
      ['info', 'draining: finishing accepted requests'],
      ['error', 'Invoke Timeout'],
      ['info', 'drained: exiting'],
    ]);
  });

  it('past JUSTFN_DRAIN_TIMEOUT a request that waited for a slot and never ran gets a 503 to retry', async () => {
    const runtime = await startHttpRuntime('http/index.slow', {
      JUSTFN_CONCURRENCY: '1',
      JUSTFN_DRAIN_TIMEOUT: '1',
    });
    const running = request(`${runtime.url}/?ms=5000`);
    await runtime.waitForLog(() => false, 200).catch(() => {});
    const queued = request(`${runtime.url}/?ms=10`);
    await runtime.waitForLog(() => false, 200).catch(() => {});
    runtime.process.child.kill('SIGTERM');
    const [ran, waited] = await Promise.all([running, queued]);
    expect(ran.statusCode).toBe(504);
    expect([waited.statusCode, waited.headers['retry-after'], waited.headers.connection]).toEqual([
      503,
      '1',
      'close',
    ]);
    expect(await waited.body.text()).toBe('{"message":"Service Unavailable"}');
    await ran.body.text();
    expect(await runtime.process.exited).toBe(0);
    const never = runtime.logs().find((l) => l.requestId === waited.headers['x-request-id']);
    expect([never?.msg, never?.errorType]).toEqual(['Invoke Error', 'Runtime.Draining']);
  });

  it('a keep-alive connection idle at SIGTERM stays open: a request sent on it gets the draining 503', async () => {
    const runtime = await startHttpRuntime('http/index.slow', { JUSTFN_DRAIN_TIMEOUT: '20' });
    const client = new Client(runtime.url);
    const first = await client.request({ path: '/?ms=1', method: 'GET' });
    await first.body.text();
    const probe = new Client(runtime.url);
    await (await probe.request({ path: '/_/health/ready', method: 'GET' })).body.text();
    const busy = request(`${runtime.url}/?ms=1500`); // keeps the drain going
    await runtime.waitForLog(() => false, 200).catch(() => {});
    runtime.process.child.kill('SIGTERM');
    await runtime.waitForLog((l) => l.msg === 'draining: finishing accepted requests');
    // On the same connection: closed at SIGTERM, the client would have had to open another, refused.
    const second = await client.request({ path: '/?ms=1', method: 'GET' });
    expect([second.statusCode, second.headers.connection]).toEqual([503, 'close']);
    await second.body.text();
    // A probe on its open connection: readiness says why it is off.
    const ready = await probe.request({ path: '/_/health/ready', method: 'GET' });
    expect([ready.statusCode, await ready.body.json()]).toEqual([
      503,
      { status: 'not ready', reasons: ['draining'] },
    ]);
    await probe.close();
    expect((await busy).statusCode).toBe(200);
    expect(await runtime.process.exited).toBe(0);
    await client.close();
  });

  it('a stream begun before SIGTERM ends its connection as it ends, not when the drain does', async () => {
    const runtime = await startHttpRuntime('http/index.slowStream', { JUSTFN_DRAIN_TIMEOUT: '20' });
    const client = new Client(runtime.url);
    const streamed = await client.request({ path: '/?n=4&ms=100', method: 'GET' });
    expect(streamed.headers.connection).toBe('keep-alive');
    // Accepted (its head is in) before the signal: the drain waits for it.
    const longer = await request(`${runtime.url}/?n=1&ms=2000`);
    const busy = longer.body.text().then(() => 'the drain went on');
    runtime.process.child.kill('SIGTERM');
    expect(await streamed.body.text()).toBe('part0;part1;part2;part3;');
    // The drain ends after `busy`: the stream's connection must close before that.
    const closed = once(client, 'disconnect').then(() => 'its connection closed');
    expect(await Promise.race([closed, busy])).toBe('its connection closed');
    await busy;
    expect(await runtime.process.exited).toBe(0);
    await client.close();
  });

  it("what an abort listener logs at the drain timeout carries its invocation's request id", async () => {
    const runtime = await startHttpRuntime('http/index.abortLogs', { JUSTFN_DRAIN_TIMEOUT: '1' });
    const slow = request(`${runtime.url}/?ms=5000`);
    await runtime.waitForLog(() => false, 200).catch(() => {});
    runtime.process.child.kill('SIGTERM');
    const answer = await slow;
    await answer.body.text();
    expect(await runtime.process.exited).toBe(0);
    const aborted = runtime.logs().find((l) => String(l.msg).startsWith('aborted:'));
    expect([aborted?.msg, aborted?.requestId]).toEqual([
      'aborted: The drain timeout passed',
      answer.headers['x-request-id'],
    ]);
  });

  it('a second signal exits at once', async () => {
    const runtime = await startHttpRuntime('http/index.slow', { JUSTFN_DRAIN_TIMEOUT: '30' });
    const slow = request(`${runtime.url}/?ms=20000`).catch(() => undefined);
    await runtime.waitForLog(() => false, 200).catch(() => {});
    runtime.process.child.kill('SIGTERM');
    await runtime.waitForLog((l) => l.msg === 'draining: finishing accepted requests');
    runtime.process.child.kill('SIGTERM');
    expect(await runtime.process.exited).toBe(1);
    await slow;
  });
});
