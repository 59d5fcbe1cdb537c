import { describe, expect, it } from 'vitest';
import { apigwV1 } from '../../../adapters/http/apigw-v1.js';
import { makeRequest } from './samples.js';

const eventOf = (parts: Parameters<typeof makeRequest>[0], options?: Parameters<typeof apigwV1.toEvent>[1]) =>
  apigwV1.toEvent(makeRequest(parts), options);

describe('apigwV1.toEvent: headers', () => {
  it('keeps names as sent; `headers` has the last value, `multiValueHeaders` all of them', () => {
    const event = eventOf({
      headers: [
        ['Host', 'h'],
        ['X-Probe', 'first'],
        ['X-Probe', 'second'],
        ['cookie', 'a=1; b=2'],
        ['Content-Length', '0'],
      ],
    });
    expect(event.headers).toEqual({ Host: 'h', 'X-Probe': 'second', cookie: 'a=1; b=2' });
    expect(event.multiValueHeaders).toEqual({
      Host: ['h'],
      'X-Probe': ['first', 'second'],
      cookie: ['a=1; b=2'],
    });
  });
});

describe('apigwV1.toEvent: path, route and query', () => {
  it.each([
    [
      '/hello/world?name=me',
      '/hello/world',
      '/{proxy+}',
      { proxy: 'hello/world' },
      { name: 'me' },
      { name: ['me'] },
    ],
    ['/', '/', '/', null, null, null],
    ['/?', '/', '/', null, null, null],
    [
      '/capture/space%20value',
      '/capture/space%20value',
      '/{proxy+}',
      { proxy: 'capture/space%20value' },
      null,
      null,
    ],
    [
      '/q?repeat=one&repeat=two&literalPlus=a+b&encodedPlus=a%2Bb&empty=',
      '/q',
      '/{proxy+}',
      { proxy: 'q' },
      { repeat: 'two', literalPlus: 'a b', encodedPlus: 'a+b', empty: '' },
      { repeat: ['one', 'two'], literalPlus: ['a b'], encodedPlus: ['a+b'], empty: [''] },
    ],
  ])('%s', (url, path, resource, pathParameters, single, multi) => {
    const event = eventOf({ url });
    expect(event).toMatchObject({ path, resource, pathParameters });
    expect(event.queryStringParameters).toEqual(single);
    expect(event.multiValueQueryStringParameters).toEqual(multi);
    expect(event.requestContext).toMatchObject({ path, resourcePath: resource });
  });
});

describe('apigwV1.toEvent: body', () => {
  it.each([
    ['application/json', '{"a":1}', '{"a":1}', false],
    ['image/jpeg', Buffer.from([0xff, 0xd8, 0xff]), '/9j/', true],
    [undefined, '', null, false],
  ] as [string | undefined, string | Buffer, string | null, boolean][])(
    '%s',
    (type, body, expected, base64) => {
      const headers: [string, string][] = type ? [['Content-Type', type]] : [];
      expect(eventOf({ method: 'PUT', headers, body })).toMatchObject({
        body: expected,
        isBase64Encoded: base64,
      });
    },
  );
});

describe('apigwV1.toEvent: requestContext', () => {
  it('is built from the connection, the clock and the options; identity is null but for IP and agent', () => {
    const event = eventOf(
      {
        method: 'POST',
        url: '/a/b',
        headers: [
          ['Host', 'x.example.com'],
          ['User-Agent', 'ua'],
        ],
        requestId: 'r-1',
      },
      { stage: 'prod', accountId: '111122223333', apiId: 'api', resourceId: 'res' },
    );
    expect(event.requestContext).toEqual({
      accountId: '111122223333',
      apiId: 'api',
      domainName: 'x.example.com',
      domainPrefix: 'x',
      extendedRequestId: 'r-1',
      httpMethod: 'POST',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '198.51.100.7',
        user: null,
        userAgent: 'ua',
        userArn: null,
      },
      path: '/a/b',
      protocol: 'HTTP/1.1',
      requestId: 'r-1',
      requestTime: '12/Mar/2020:19:03:58 +0000',
      requestTimeEpoch: 1584039838390,
      resourceId: 'res',
      resourcePath: '/{proxy+}',
      stage: 'prod',
    });
    expect(event.stageVariables).toBeNull();
  });

  it('has a null userAgent without a User-Agent header, and stage $default by default', () => {
    const context = eventOf({ headers: [] }).requestContext;
    expect(context.identity.userAgent).toBeNull();
    expect(context.stage).toBe('$default');
  });
});

describe('apigwV1.toResponse', () => {
  it('merges multiValueHeaders then headers, a name-value pair given in both sent once', () => {
    const res = apigwV1.toResponse({
      statusCode: 200,
      headers: { 'Set-Cookie': 'a=1', 'X-One': 'x', 'Content-Type': 'text/plain' },
      multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'], 'X-Two': ['1', '2'] },
      body: 'hi',
    });
    expect(res).toEqual({
      statusCode: 200,
      headers: {
        'set-cookie': ['a=1', 'b=2'],
        'x-two': ['1', '2'],
        'x-one': 'x',
        'content-type': 'text/plain',
      },
      body: 'hi',
    });
  });

  it('adds a value of `headers` that multiValueHeaders does not have', () => {
    const res = apigwV1.toResponse({
      statusCode: 200,
      headers: { Vary: 'Origin' },
      multiValueHeaders: { Vary: ['Accept'] },
    });
    expect(res.headers.vary).toEqual(['Accept', 'Origin']);
  });

  it('decodes a base64 body, defaults content-type to application/json, and allows no body', () => {
    expect(apigwV1.toResponse({ statusCode: 200, body: 'AAEC', isBase64Encoded: true }).body).toEqual(
      Buffer.from([0, 1, 2]),
    );
    expect(apigwV1.toResponse({ statusCode: 204 })).toEqual({
      statusCode: 204,
      headers: { 'content-type': 'application/json' },
      body: '',
    });
  });
});
