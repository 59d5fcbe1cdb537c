import { Agent, request } from 'undici';
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
