import { describe, expect, it } from 'vitest';
import { createInvokeStore } from '../../runtime/invoke-store.js';
import { createConcurrentScope, createSequentialScope } from '../../runtime/scope.js';
import { installAwslambda } from '../../runtime/streaming.js';

// awslambda.InvokeStore as @aws/lambda-invoke-store's callers use it (the AWS SDK, Powertools).
const REQUEST_ID = Symbol.for('_AWS_LAMBDA_REQUEST_ID');

describe('awslambda.InvokeStore', () => {
  it("outside an invocation (a module's top during init), set and get work, as the library's own store", () => {
    const store = createInvokeStore(createSequentialScope());
    store.set('config', 42);
    expect([store.get('config'), store.getRequestId(), store.hasContext()]).toEqual([42, '-', false]);
  });

  it('each concurrent invocation has its own ids and its own values; protected keys are refused', async () => {
    const scope = createConcurrentScope();
    const store = createInvokeStore(scope);
    const seen = await Promise.all(
      ['a', 'b'].map((id) =>
        scope.run({ requestId: id, traceId: `Root=${id}` }, async () => {
          store.set('mine', id);
          await new Promise((resolve) => setTimeout(resolve, 10));
          return [store.getRequestId(), store.getXRayTraceId(), store.get('mine'), store.get(REQUEST_ID)];
        }),
      ),
    );
    expect(seen).toEqual([
      ['a', 'Root=a', 'a', 'a'],
      ['b', 'Root=b', 'b', 'b'],
    ]);
    expect(() => scope.run({ requestId: 'c' }, () => store.set(REQUEST_ID, 'forged'))).toThrow(
      'Cannot modify protected Lambda context field',
    );
  });
});

describe("AWS's v3 globals for the current request", () => {
  it('globalThis[Symbol.for("aws.lambda.runtime.requestId")] and tenantId follow each invocation', async () => {
    const scope = createConcurrentScope();
    installAwslambda(scope);
    const requestId = Symbol.for('aws.lambda.runtime.requestId');
    const tenantId = Symbol.for('aws.lambda.runtime.tenantId');
    const global = globalThis as Record<symbol, unknown>;
    const seen = await Promise.all(
      ['a', 'b'].map((id) =>
        scope.run({ requestId: id, tenantId: `t-${id}` }, async () => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          return [global[requestId], global[tenantId]];
        }),
      ),
    );
    expect(seen).toEqual([
      ['a', 't-a'],
      ['b', 't-b'],
    ]);
    expect(global[requestId]).toBeUndefined();
  });
});
