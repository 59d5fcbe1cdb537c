import type { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResourceConfig } from '../../../runtime/config/service-config.js';
import { createResourceRegistry } from '../../../runtime/resources/registry.js';
import { ResourceError } from '../../../runtime/resources/resource-error.js';
import { freePort } from '../../helpers/postgres.js';
import { captureLog, startHttp } from './servers.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function setup(origin: string, warm = '/', secrets = new Set<string>()) {
  const capture = captureLog();
  const declared: Record<string, ResourceConfig> = { billing: { kind: 'http', origin, warm, timeout: 2 } };
  const registry = createResourceRegistry<{ billing: Pool }>(declared, {
    baseDir: '.',
    log: capture.log,
    secrets,
  });
  cleanup.push(() => registry.close());
  return { registry, capture };
}

describe('http resource', () => {
  it('warms with one real GET that reaches the server, and keeps its socket', async () => {
    const server = await startHttp();
    cleanup.push(server.close);
    const { registry } = setup(server.origin);
    await registry.open();
    expect(server.requests).toEqual([{ method: 'GET', path: '/', userAgent: 'justfn (warm-up)' }]);
    expect(await server.connections()).toBe(1);
    const response = await registry.resources.billing.request({ method: 'GET', path: '/invoices' });
    expect(await response.body.text()).toBe('ok');
    expect(server.requests.map((r) => r.path)).toEqual(['/', '/invoices']);
    expect(await server.connections()).toBe(1);
  });

  it('warms the configured path, and any status counts as reachable', async () => {
    const server = await startHttp((_req, res) => {
      res.statusCode = 503;
    });
    cleanup.push(server.close);
    const { registry } = setup(server.origin, '/healthz');
    await registry.open();
    expect(server.requests.map((r) => r.path)).toEqual(['/healthz']);
    expect(registry.health().resources.billing).toMatchObject({ state: 'open', healthy: true });
  });

  it('reports an origin that refuses connections as a ResourceError naming the resource', async () => {
    const port = await freePort();
    const { registry } = setup(`http://127.0.0.1:${port}`);
    const error = (await registry.open().catch((e: unknown) => e)) as ResourceError;
    expect(error).toBeInstanceOf(ResourceError);
    expect(error.resource).toBe('billing');
    expect(error.message).toBe(
      `resource 'billing' (http, http://127.0.0.1:${port}): cannot open: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('keeps an origin that came from a variable out of the message', async () => {
    const origin = `http://127.0.0.1:${await freePort()}`;
    const { registry, capture } = setup(origin, '/', new Set([origin]));
    const error = (await registry.open().catch((e: unknown) => e)) as ResourceError;
    expect(error.message).toMatch(/^resource 'billing' \(http, \[redacted\]\): cannot open: /);
    expect(capture.text()).not.toContain(origin);
  });

  it('ensureFresh replaces the pool and warms the new one; check() is one more real request', async () => {
    const server = await startHttp();
    cleanup.push(server.close);
    const { registry } = setup(server.origin);
    await registry.open();
    const before = registry.resources.billing;
    expect(await registry.ensureFresh(60_000)).toBe(false);
    registry.markUsed();
    expect(await registry.ensureFresh(0)).toBe(true);
    expect(registry.resources.billing).not.toBe(before);
    expect(before.closed).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect((await registry.check()).ready).toBe(true);
    expect(server.requests).toHaveLength(3);
  });
});
