import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResourceConfig } from '../../../runtime/config/service-config.js';
import { createResourceRegistry } from '../../../runtime/resources/registry.js';
import { ResourceError } from '../../../runtime/resources/resource-error.js';
import type { RegistryHealth } from '../../../runtime/resources/resource-registry.js';
import type { GrpcClient } from '../../../runtime/resources/resources-of.js';
import { freePort } from '../../helpers/postgres.js';
import { captureLog, protosDir, startGreeter } from './servers.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function setup(target: string, timeout = 2, service = 'test.greeter.v1.Greeter') {
  const capture = captureLog();
  const declared: Record<string, ResourceConfig> = {
    auth: { kind: 'grpc', target, proto: 'greeter.proto', service, timeout },
  };
  const registry = createResourceRegistry<{ auth: GrpcClient }>(declared, {
    baseDir: protosDir,
    log: capture.log,
  });
  cleanup.push(() => registry.close());
  return { registry, capture };
}

const hello = (client: GrpcClient, name: string) =>
  new Promise<{ message: string }>((resolve, reject) =>
    client.Hello({ name }, (error: grpc.ServiceError | null, reply: { message: string }) =>
      error ? reject(error) : resolve(reply),
    ),
  );

const state = (client: GrpcClient) => client.getChannel().getConnectivityState(false);

describe('grpc resource', () => {
  it('has the channel READY when open() resolves, and calls the service', async () => {
    const server = await startGreeter();
    cleanup.push(server.stop);
    const { registry } = setup(server.target);
    await registry.open();
    expect(state(registry.resources.auth)).toBe(grpc.connectivityState.READY);
    expect(await hello(registry.resources.auth, 'ada')).toEqual({ message: 'hello ada' });
  });

  it('says which services the .proto has when the named one is not there', async () => {
    const { registry } = setup('127.0.0.1:1', 1, 'test.greeter.v1.Nope');
    const error = (await registry.open().catch((e: unknown) => e)) as ResourceError;
    expect(error).toBeInstanceOf(ResourceError);
    expect(error.message).toBe(
      `resource 'auth' (grpc, 127.0.0.1:1): cannot be set up: service 'test.greeter.v1.Nope' is not in ${protosDir}greeter.proto (services there: test.greeter.v1.Greeter)`,
    );
  });

  it('reports a server that is down at open as a ResourceError naming the resource and why', async () => {
    const { registry } = setup(`127.0.0.1:${await freePort()}`, 0.3);
    const error = (await registry.open().catch((e: unknown) => e)) as ResourceError;
    expect(error.resource).toBe('auth');
    expect(error.message).toMatch(
      /^resource 'auth' \(grpc, test\.greeter\.v1\.Greeter at 127\.0\.0\.1:\d+\): cannot open: channel not READY within 300 ms \(state (TRANSIENT_FAILURE: No connection established\. Last error: Error: connect ECONNREFUSED 127\.0\.0\.1:\d+|CONNECTING)\)$/,
    );
  });

  it('with openWithRetry, becomes healthy once the server comes up, without a restart', async () => {
    const port = await freePort();
    const { registry, capture } = setup(`127.0.0.1:${port}`, 0.2);
    const states: RegistryHealth[] = [];
    const opened = registry.openWithRetry({
      initialDelayMs: 10,
      maxDelayMs: 100,
      onState: (h) => states.push(h),
    });
    await capture.waitFor((l) => l.level === 'warn' && (l.obj.attempt as number) >= 2);
    expect(registry.health()).toMatchObject({ ready: false, resources: { auth: { state: 'retrying' } } });
    const server = await startGreeter(port);
    cleanup.push(server.stop);
    expect(await opened).toBe(true);
    expect(registry.health()).toMatchObject({
      ready: true,
      resources: { auth: { state: 'open', healthy: true } },
    });
    expect(states.at(-1)?.ready).toBe(true);
    expect(states.map((s) => s.resources.auth?.state)).toContain('retrying');
    expect(capture.lines.find((l) => l.level === 'warn')?.msg).toMatch(
      /^resource 'auth' \(grpc, .*\): cannot open: channel not READY within 200 ms \(state (TRANSIENT_FAILURE: .*ECONNREFUSED.*|CONNECTING)\); retrying in \d+ ms$/,
    );
    expect(await hello(registry.resources.auth, 'grace')).toEqual({ message: 'hello grace' });
  });

  it('after the server restarted, ensureFresh gives a new READY channel and the next call succeeds', async () => {
    const first = await startGreeter();
    const { registry } = setup(first.target);
    await registry.open();
    const before = registry.resources.auth;
    expect(await hello(before, 'a')).toEqual({ message: 'hello a' });
    first.kill();
    const second = await startGreeter(first.port);
    cleanup.push(second.stop);
    expect(await registry.ensureFresh(0)).toBe(true);
    const after = registry.resources.auth;
    expect(after).not.toBe(before);
    expect(state(before)).toBe(grpc.connectivityState.SHUTDOWN);
    expect(state(after)).toBe(grpc.connectivityState.READY);
    expect(await hello(after, 'b')).toEqual({ message: 'hello b' });
    expect(second.calls()).toBe(1);
  });

  it('close() shuts the channel down, and is safe twice', async () => {
    const server = await startGreeter();
    cleanup.push(server.stop);
    const { registry } = setup(server.target);
    await registry.open();
    const client = registry.resources.auth;
    await registry.close();
    await registry.close();
    expect(state(client)).toBe(grpc.connectivityState.SHUTDOWN);
    expect(() => registry.resources.auth).toThrow(
      "context.resources.auth: resource 'auth' is not open (closed)",
    );
  });
});
