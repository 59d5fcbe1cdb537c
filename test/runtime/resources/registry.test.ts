import type { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResourceConfig } from '../../../runtime/config/service-config.js';
import { JustfnError } from '../../../runtime/errors.js';
import { createResourceRegistry } from '../../../runtime/resources/registry.js';
import type { RegistryHealth } from '../../../runtime/resources/resource-registry.js';
import { freePort } from '../../helpers/postgres.js';
import { captureLog, startHttp } from './servers.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type Three = { a: Pool; b: Pool; c: Pool };

async function three(handle?: Parameters<typeof startHttp>[0]) {
  const servers = await Promise.all([startHttp(handle), startHttp(handle), startHttp(handle)]);
  for (const server of servers) cleanup.push(server.close);
  const [a, b, c] = servers.map(
    (s): ResourceConfig => ({ kind: 'http', origin: s.origin, warm: '/', timeout: 5 }),
  );
  const capture = captureLog();
  const states: RegistryHealth[] = [];
  const registry = createResourceRegistry<Three>(
    { a: a!, b: b!, c: c! },
    { baseDir: '.', log: capture.log, onState: (h) => states.push(h) },
  );
  cleanup.push(() => registry.close());
  return { registry, capture, servers, states };
}

describe('resource registry', () => {
  it('opens every resource at once: all three warm-ups are in flight before any is answered', async () => {
    const events: string[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { registry, servers } = await three(async (req) => {
      const name = String(servers.findIndex((s) => s.origin.endsWith(`:${req.socket.localPort}`)));
      events.push(`arrived ${name}`);
      if (events.length === 3) release();
      await gate;
      events.push(`answered ${name}`);
    });
    await registry.open();
    events.push('open resolved');
    expect(events.slice(0, 3).sort()).toEqual(['arrived 0', 'arrived 1', 'arrived 2']);
    expect(events.slice(3, 6).sort()).toEqual(['answered 0', 'answered 1', 'answered 2']);
    expect(events[6]).toBe('open resolved');
  });

  it('closes in reverse declaration order; close() twice is safe', async () => {
    const { registry, capture, servers } = await three();
    await registry.open();
    await Promise.all([registry.close(), registry.close()]);
    await registry.close();
    const closed = capture.lines.filter((l) => l.msg.endsWith(' closed')).map((l) => l.obj.resource);
    expect(closed).toEqual(['c', 'b', 'a']);
    for (const server of servers) await expect.poll(server.connections).toBe(0);
    expect(Object.values(registry.health().resources).map((r) => r.state)).toEqual([
      'closed',
      'closed',
      'closed',
    ]);
  });

  it('close() while opening stops the opening, closes what was opened, and open() says why', async () => {
    const { registry, servers, capture } = await three(() => new Promise(() => {}));
    const opening = registry.open().catch((e: Error) => e);
    for (const server of servers) await expect.poll(() => server.requests.length).toBe(1);
    await registry.close();
    const error = await opening;
    expect(error).toBeInstanceOf(JustfnError);
    expect((error as Error).message.split('\n')).toEqual([
      `resource 'a' (http, ${servers[0]?.origin}): cannot open: closed while opening`,
      `resource 'b' (http, ${servers[1]?.origin}): cannot open: closed while opening`,
      `resource 'c' (http, ${servers[2]?.origin}): cannot open: closed while opening`,
    ]);
    for (const server of servers) await expect.poll(server.connections).toBe(0);
    expect(registry.health().ready).toBe(false);
    expect(capture.lines.filter((l) => l.level === 'error')).toHaveLength(3);
  });

  it('context.resources: frozen, declared names only, a clear error otherwise', async () => {
    const { registry } = await three();
    expect(() => registry.resources.a).toThrow("context.resources.a: resource 'a' is not open (closed)");
    await registry.open();
    const resources = registry.resources as Three & Record<string, unknown>;
    expect(Object.isFrozen(resources)).toBe(true);
    expect(Object.keys(resources)).toEqual(['a', 'b', 'c']);
    expect(() => resources.foo).toThrow(
      new JustfnError(
        'RESOURCE_NOT_DECLARED',
        "context.resources.foo: no resource 'foo' is declared in justfn.yaml (declared: a, b, c)",
      ),
    );
    expect(() => resources.foo).toThrow(expect.objectContaining({ name: 'Runtime.ResourceNotDeclared' }));
    // Probed by await and JSON: they must not throw.
    expect(resources.then).toBeUndefined();
    expect(await Promise.resolve(resources)).toBe(resources);
    expect(() => {
      (resources as Record<string, unknown>).a = 1;
    }).toThrow(TypeError);
  });

  it('with nothing declared, says so', async () => {
    const registry = createResourceRegistry<Record<string, unknown>>(
      {},
      { baseDir: '.', log: captureLog().log },
    );
    await registry.open();
    expect(registry.health()).toEqual({ ready: true, resources: {} });
    expect(() => registry.resources.db).toThrow(
      "context.resources.db: no resource 'db' is declared in justfn.yaml (none is declared)",
    );
    await registry.close();
  });

  it('reopens after close (the SnapStart path) with new clients', async () => {
    const { registry, servers, states } = await three();
    await registry.open();
    const first = registry.resources.a;
    await registry.close();
    await registry.open();
    expect(registry.resources.a).not.toBe(first);
    expect(first.closed).toBe(true);
    expect(servers.map((s) => s.requests.length)).toEqual([2, 2, 2]);
    expect(states.at(-1)?.ready).toBe(true);
    expect(new Set(states.flatMap((s) => Object.values(s.resources).map((r) => r.state)))).toEqual(
      new Set(['opening', 'open', 'closing', 'closed']),
    );
  });

  it('openWithRetry stops when its signal aborts, and resolves false', async () => {
    const capture = captureLog();
    const origin = `http://127.0.0.1:${await freePort()}`;
    const registry = createResourceRegistry(
      { a: { kind: 'http', origin, warm: '/', timeout: 1 } },
      { baseDir: '.', log: capture.log },
    );
    cleanup.push(() => registry.close());
    const stop = new AbortController();
    const opened = registry.openWithRetry({ signal: stop.signal, initialDelayMs: 5, maxDelayMs: 20 });
    await capture.waitFor((l) => l.obj.attempt === 3);
    stop.abort();
    expect(await opened).toBe(false);
    expect(registry.health().ready).toBe(false);
    const attempts = capture.lines.filter((l) => l.level === 'warn').map((l) => l.obj.attempt);
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('after an interrupted openWithRetry, open() opens only what is not open yet', async () => {
    const capture = captureLog();
    const up = await startHttp();
    cleanup.push(up.close);
    const port = await freePort();
    const registry = createResourceRegistry(
      {
        a: { kind: 'http', origin: up.origin, warm: '/', timeout: 1 },
        b: { kind: 'http', origin: `http://127.0.0.1:${port}`, warm: '/', timeout: 1 },
      },
      { baseDir: '.', log: capture.log },
    );
    cleanup.push(() => registry.close());
    const stop = new AbortController();
    const opened = registry.openWithRetry({ signal: stop.signal, initialDelayMs: 5, maxDelayMs: 20 });
    await capture.waitFor((l) => l.obj.resource === 'b' && l.obj.attempt === 2);
    // On a loaded machine a's first warm-up can outlast b's two refusals, or time out and be retried.
    await expect.poll(() => registry.health().resources.a?.state, { timeout: 10_000 }).toBe('open');
    stop.abort();
    expect(await opened).toBe(false);
    const warmedA = up.requests.length;
    const down = await startHttp(undefined, port);
    cleanup.push(down.close);
    await registry.open();
    // b is opened (one warm-up); a, open already, is not opened again.
    expect([up.requests.length, down.requests.length]).toEqual([warmedA, 1]);
    expect(registry.health().ready).toBe(true);
  });

  it('ensureFresh does nothing until the resources have been idle for idleMs of wall-clock time', async () => {
    const { registry, servers } = await three();
    await registry.open();
    expect(await registry.ensureFresh(60_000)).toBe(false);
    registry.markUsed();
    expect(await registry.ensureFresh()).toBe(false);
    registry.markUsed();
    const [first, second] = [registry.ensureFresh(0), registry.ensureFresh(0)];
    expect(await first).toBe(true);
    expect(await second).toBe(true);
    // Both calls shared one refresh: one new warm-up per resource.
    expect(servers.map((s) => s.requests.length)).toEqual([2, 2, 2]);
  });

  it('ensureFresh never refreshes under an invocation still running (Managed Instances: no freeze since)', async () => {
    const { registry, servers } = await three();
    await registry.open();
    expect(await registry.ensureFresh(60_000)).toBe(false); // a long invocation begins
    const clients = [registry.resources.a, registry.resources.b, registry.resources.c];
    expect(await registry.ensureFresh(0)).toBe(false); // another arrives, past the idle threshold
    expect([registry.resources.a, registry.resources.b, registry.resources.c]).toStrictEqual(clients);
    for (const client of clients) expect(client.closed).toBe(false);
    expect(servers.map((s) => s.requests.length)).toEqual([1, 1, 1]);
    registry.markUsed();
    registry.markUsed();
    // Nothing in flight any more: the next invocation after the gap re-validates.
    expect(await registry.ensureFresh(0)).toBe(true);
  });
});
