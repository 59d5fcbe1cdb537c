import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpRuntime, startHttpRuntime } from '../helpers/http-runtime.js';
import { expectAlive, expectNoLeak, family, head, type RawAnswer, rawRequest, runs } from './hostile.js';

// Issue 6, point 4: API Gateway fields a client tries to forge through headers and the query string.
// docs/http-events.md: requestContext is built from the connection, the clock and the configuration;
// no header, query parameter or body adds an authorizer or an identity, or changes any other field.
// Property: with any mix of hostile headers and query keys, requestContext is the one a plain request
// gets, but for the request id and the clock; sourceIp is the socket's; x-request-id is justfn's own.

const forgedNames = [
  'authorization',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'x-amzn-oidc-data',
  'x-amzn-oidc-identity',
  'x-amzn-oidc-accesstoken',
  'x-amzn-requestid',
  'x-amzn-trace-id',
  'x-amz-cf-id',
  'x-apigateway-event',
  'x-apigateway-context',
  'requestcontext',
  'x-requestcontext',
  'x-amzn-apigateway-api-id',
  'x-amz-cognito-identity',
  'x-amzn-lambda-context',
  'lambda-runtime-aws-request-id',
  'x-request-id',
  'x-amzn-vpce-id',
  'x-amzn-tls-version',
  'x-forwarded-client-cert',
  'x-client-cert',
  'x-api-key',
  'cookie',
  '__proto__',
  'constructor',
  'prototype',
  'x-amzn-mtls-clientcert',
  'x-authorizer',
];
const forgedValues = [
  '{"authorizer":{"claims":{"sub":"admin","scope":"*"}}}',
  '{"requestContext":{"authorizer":{"jwt":{"claims":{"sub":"root"}}}}}',
  '10.0.0.1',
  '10.0.0.1, 127.0.0.1',
  'for=10.0.0.1;proto=https',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.',
  'arn:aws:iam::123456789012:role/admin',
  'https',
  'admin',
  '__proto__',
  '{"__proto__":{"isAdmin":true}}',
];
const header = fc.tuple(
  fc.oneof(fc.constantFrom(...forgedNames), fc.stringMatching(/^x-[a-z0-9-]{1,20}$/)),
  fc.oneof(fc.constantFrom(...forgedValues), fc.stringMatching(/^[!-~][ -~]{0,40}$/)),
);
const queryKey = fc.oneof(
  fc.constantFrom(
    'requestContext',
    'requestContext.authorizer',
    'requestContext[authorizer][claims][sub]',
    'authorizer',
    '__proto__',
    '__proto__[isAdmin]',
    'constructor[prototype][isAdmin]',
    'identity.sourceIp',
    'sourceIp',
  ),
  fc.stringMatching(/^[a-zA-Z0-9_.[\]-]{1,16}$/),
);
const hostile = fc.record({
  headers: fc.array(header, { maxLength: 12 }),
  query: fc.array(fc.tuple(queryKey, fc.constantFrom(...forgedValues).map(encodeURIComponent)), {
    maxLength: 5,
  }),
});

/** The fields no client may move, with those that change on every request (id, clock) taken out. */
function fixed(context: Record<string, unknown>): Record<string, unknown> {
  const { requestId, extendedRequestId, time, timeEpoch, requestTime, requestTimeEpoch, ...rest } = context;
  return rest;
}

describe.each(['apigw-v2', 'apigw-v1', 'alb'])('%s: forged fields stay out of requestContext', (format) => {
  const tried = family(`API Gateway fields forged through headers (${format})`);
  let runtime: HttpRuntime;
  beforeAll(async () => {
    runtime = await startHttpRuntime('http/index.echoEvent', { JUSTFN_HTTP_EVENT: format });
  });
  afterAll(() => runtime.stop());

  const get = async (path: string, headers: [string, string][]) => {
    const answer = (await rawRequest(runtime.port, head('GET', path, headers))) as RawAnswer;
    expect(answer.status, answer.body).toBe(200);
    expectNoLeak(answer);
    return { answer, event: JSON.parse(answer.body) as { requestContext: Record<string, unknown> } };
  };

  it('any mix of hostile headers and query keys', async () => {
    const agent: [string, string][] = [['user-agent', 'hostile/1']];
    const baseline = fixed((await get('/forge', agent)).event.requestContext);
    await fc.assert(
      fc.asyncProperty(hostile, async ({ headers, query }) => {
        tried.tried();
        const path = `/forge${query.length > 0 ? `?${query.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&')}` : ''}`;
        const { answer, event } = await get(path, [...agent, ...headers]);
        const context = event.requestContext;
        expect(fixed(context)).toEqual(baseline);
        expect(JSON.stringify(context)).not.toMatch(/authorizer|authentication|claims|cognitoIdentityId":"/);
        if (format !== 'alb') expect(context.requestId).toBe(answer.headers['x-request-id']);
        expect(answer.headers['x-request-id']).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
        expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      }),
      { numRuns: runs(40) },
    );
    await expectAlive(runtime);
  });
});
